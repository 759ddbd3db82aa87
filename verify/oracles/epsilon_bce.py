"""The tutorial's hand-written binary cross-entropy with ``eps`` inside both logs (BCE-4).

On probabilities p (the tutorial takes p = σ(x) from logits x; with ε = 0, as 1e-9 becomes in
float16, log 0 and 0·log 0 give inf and NaN as IEEE arithmetic does):

    ℓ_ε = −(y·log(p + ε) + (1 − y)·log(1 − p + ε))

On logits, with 1 − σ(x) written as σ(−x) so that float64 keeps it accurate for any x:

    ℓ_ε(x) = −(y·log(σ(x) + ε) + (1 − y)·log(σ(−x) + ε))

Since 0 < log(a + ε) − log a ≤ ε/a, the ε-form never exceeds the exact loss ℓ and

    0 ≤ ℓ − ℓ_ε ≤ ε·(y/σ(x) + (1 − y)/σ(−x))

(``epsilon_bias_bound``), a bound of ε·(1 + e^|x|); on the other side every element is at
most −log ε (20.72 for ε = 1e-9) for hard targets, however wrong the prediction. 'mean'
divides by the number of elements.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.reduction import elementwise_vjp_inputs, expand_cotangent, float64, reduce


def _epsilon_loss(y: np.ndarray, p: np.ndarray, not_p: np.ndarray, eps: float) -> np.ndarray:
    """ℓ_ε = −(y·log(p + ε) + (1 − y)·log(1 − p + ε)) per element, 1 − p given as ``not_p``."""
    with np.errstate(divide="ignore", invalid="ignore"):  # ε = 0: log 0 and 0·log 0 as IEEE
        return -(y * np.log(p + eps) + (1.0 - y) * np.log(not_p + eps))


def _epsilon_slope(y: np.ndarray, p: np.ndarray, not_p: np.ndarray, eps: float) -> np.ndarray:
    """∂ℓ_ε/∂p = −y/(p + ε) + (1 − y)/(1 − p + ε) per element, 1 − p given as ``not_p``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -y / (p + eps) + (1.0 - y) / (not_p + eps)


def epsilon_bce(
    probabilities: np.ndarray, target: np.ndarray, eps: float, reduction: str = "mean"
) -> np.ndarray:
    """−(y·log(p + ε) + (1 − y)·log(1 − p + ε)) of ``probabilities`` in [0, 1], reduced."""
    p, y = float64(probabilities, target)
    return reduce(_epsilon_loss(y, p, 1.0 - p, eps), reduction)


@adjoint_of(epsilon_bce)
def epsilon_bce_vjp(
    probabilities: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂p of Σ g·ℓ_ε:  g·(−y/(p + ε) + (1 − y)/(1 − p + ε))."""
    p, y, g = elementwise_vjp_inputs(probabilities, target, cotangent, params.reduction)
    return g * _epsilon_slope(y, p, 1.0 - p, params.eps)


def epsilon_bce_with_logits(
    logits: np.ndarray, target: np.ndarray, eps: float, reduction: str = "mean"
) -> np.ndarray:
    """ℓ_ε of σ(``logits``) against ``target``, with 1 − σ(x) taken as σ(−x)."""
    x, y = float64(logits, target)
    return reduce(_epsilon_loss(y, special.expit(x), special.expit(-x), eps), reduction)


@adjoint_of(epsilon_bce_with_logits)
def epsilon_bce_with_logits_vjp(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·ℓ_ε(x) = g·(∂ℓ_ε/∂p)·σ(x)σ(−x), with p = σ(x) and 1 − p = σ(−x):
    g·σ(x)σ(−x)·((1 − y)/(σ(−x) + ε) − y/(σ(x) + ε))."""
    x, y = float64(logits, target)
    s, s_neg = special.expit(x), special.expit(-x)
    g = expand_cotangent(cotangent, x.shape, params.reduction)
    return g * s * s_neg * _epsilon_slope(y, s, s_neg, params.eps)


def epsilon_bias_bound(
    logits: np.ndarray, target: np.ndarray, eps: float, reduction: str = "mean"
) -> np.ndarray:
    """ε·(y/σ(x) + (1 − y)/σ(−x)), reduced: an upper bound on ℓ − ℓ_ε (and on the gap of
    their gradients per unit cotangent)."""
    x, y = float64(logits, target)
    per_element = eps * (y / special.expit(x) + (1.0 - y) / special.expit(-x))
    return reduce(per_element, reduction)
