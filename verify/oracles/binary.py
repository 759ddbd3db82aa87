"""Binary cross-entropy on probabilities and on logits, as PyTorch defines them.

On probabilities (``binary_cross_entropy``), each log is clamped at −100 so that one element
never exceeds 100:

    ℓ = −w · (y·max(log p, −100) + (1 − y)·max(log(1 − p), −100))

On logits (``binary_cross_entropy_with_logits``), with ``pos_weight`` scaling the positive term
and broadcast along the last (class) axis:

    ℓ = −w · (pw·y·log σ(x) + (1 − y)·log σ(−x))

computed with ``scipy.special.log_expit``, which is accurate for any |x|. 'mean' divides by
the number of elements.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.reduction import elementwise_vjp_inputs, expand_cotangent, float64, reduce

LOG_CLAMP = -100.0


def _weights(shape: tuple[int, ...], weight: np.ndarray | None) -> np.ndarray:
    if weight is None:
        return np.ones(shape)
    return np.broadcast_to(np.asarray(weight, dtype=np.float64), shape)


def binary_cross_entropy(
    probabilities: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """BCE of ``probabilities`` in [0, 1] against ``target`` in [0, 1], logs clamped at −100."""
    p, y = float64(probabilities, target)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_CLAMP)
        log_not_p = np.maximum(np.log1p(-p), LOG_CLAMP)
    per_element = -(y * log_p + (1.0 - y) * log_not_p) * _weights(p.shape, weight)
    return reduce(per_element, reduction)


@adjoint_of(binary_cross_entropy)
def binary_cross_entropy_vjp(
    probabilities: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂p of Σ g·BCE:  g·w·(p − y) / (p·(1 − p)), for p strictly inside (0, 1)."""
    p, y, g = elementwise_vjp_inputs(probabilities, target, cotangent, params.reduction)
    return g * _weights(p.shape, params.weight) * (p - y) / (p * (1.0 - p))


def binary_cross_entropy_with_logits(
    logits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """BCE of ``sigmoid(logits)`` against ``target``, computed stably from the logits."""
    x, y = float64(logits, target)
    pw = _weights(x.shape, pos_weight)
    per_element = -(pw * y * special.log_expit(x) + (1.0 - y) * special.log_expit(-x))
    return reduce(per_element * _weights(x.shape, weight), reduction)


@adjoint_of(binary_cross_entropy_with_logits)
def binary_cross_entropy_with_logits_vjp(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·BCEWithLogits:  g·w·((1 − y)·σ(x) − pw·y·σ(−x))."""
    x, y = float64(logits, target)
    pw = _weights(x.shape, params.pos_weight)
    g = expand_cotangent(cotangent, x.shape, params.reduction)
    local = (1.0 - y) * special.expit(x) - pw * y * special.expit(-x)
    return g * _weights(x.shape, params.weight) * local


@adjoint_of(binary_cross_entropy_with_logits)
def binary_cross_entropy_with_logits_gradient_bound(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> float:
    """max |g·w·max(1, pw)|: the size of the terms whose difference is the gradient.

    Implementations compute the gradient as σ(x) − y (scaled); near σ(x) = y that cancels,
    so its rounding error is relative to this bound.
    """
    x = np.asarray(logits, dtype=np.float64)
    g = expand_cotangent(cotangent, x.shape, params.reduction)
    sizes = (
        g * _weights(x.shape, params.weight) * np.maximum(1.0, _weights(x.shape, params.pos_weight))
    )
    return float(np.max(np.abs(sizes), initial=0.0))
