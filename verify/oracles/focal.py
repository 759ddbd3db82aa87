"""Focal losses (Lin et al., 2017, "Focal Loss for Dense Object Detection"), in float64.

**Sigmoid (binary) focal loss** of logits ``x`` against targets ``y`` in [0, 1], as
``torchvision.ops.sigmoid_focal_loss`` defines it:

    p = σ(x),   p_t = y·p + (1 − y)·(1 − p),   1 − p_t = y·σ(−x) + (1 − y)·σ(x)
    α_t = α·y + (1 − α)·(1 − y)     for α ≥ 0;   α_t = 1 for α < 0 (α disabled)
    ce  = −(y·log σ(x) + (1 − y)·log σ(−x))        (BCE with logits)
    ℓ   = α_t · (1 − p_t)^γ · ce

For hard labels ce = −log p_t, so ℓ = −α_t (1 − p_t)^γ log p_t. Here 1 − p_t is formed from
σ(−x) and σ(x) directly (no cancellation) and the logs with ``scipy.special.log_expit``, so the
reference is accurate for any |x|. Its gradient:

    ∂ℓ/∂x = α_t·[γ·(1 − p_t)^(γ−1)·(1 − 2y)·σ(x)σ(−x)·ce + (1 − p_t)^γ·(σ(x) − y)]

**On probabilities** ``p`` (the FL-3 form): the same with σ(x) replaced by p, ce the BCE of
``torch.nn.functional.binary_cross_entropy`` (each log clamped at −100) and α_t always the
alpha factor y·α + (1 − y)(1 − α).

**Softmax (multi-class) focal loss** of scores (N, C, d…) against class indices, with optional
per-class weights α_c, ``ignore_index`` and NLL's reductions:

    ℓ_i = −m_i·α_{y_i}·(1 − p_{i,y_i})^γ·log p_{i,y_i},     p_i = softmax(x_i),
    m_i = [y_i ≠ ignore_index];  'mean' divides by Σ_i m_i·α_{y_i} (N kept without α)

1 − p_y is computed as −expm1(log p_y), accurate as p_y → 1. With s = log p_y,
∂ℓ/∂s = −α·[(1 − p)^γ − γ·p·(1 − p)^γ·s/(1 − p)] and ∂s/∂x_j = [j = y] − p_j.

Also the target probability p_t and the shortcut exp(−BCEWithLogits) (FL-7).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.binary import LOG_CLAMP, binary_cross_entropy_with_logits
from verify.oracles.reduction import elementwise_vjp_inputs, expand_cotangent, reduce
from verify.oracles.softmax import log_softmax, softmax


def _f64(array: np.ndarray | float) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def _alpha_weight(y: np.ndarray, alpha: float) -> np.ndarray:
    """α·y + (1 − α)·(1 − y), for any α (the probability form has no "disabled" α)."""
    return alpha * y + (1.0 - alpha) * (1.0 - y)


def alpha_factor(target: np.ndarray, alpha: float) -> np.ndarray:
    """α_t = α·y + (1 − α)·(1 − y) for α ≥ 0, and 1 for α < 0 (torchvision's "disabled")."""
    y = _f64(target)
    if alpha < 0:
        return np.ones_like(y)
    return _alpha_weight(y, alpha)


def _power(base: np.ndarray, gamma: float) -> np.ndarray:
    """base^γ with 0^0 = 1."""
    return np.ones_like(base) if gamma == 0 else np.power(base, gamma)


def target_probability(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """p_t = y·σ(x) + (1 − y)·σ(−x)."""
    x, y = _f64(logits), _f64(target)
    return y * special.expit(x) + (1.0 - y) * special.expit(-x)


def target_probability_vjp(
    logits: np.ndarray, target: np.ndarray, cotangent: np.ndarray | float = 1.0
) -> np.ndarray:
    """∂/∂x of Σ g·p_t:  g·(2y − 1)·σ(x)σ(−x)."""
    x, y = _f64(logits), _f64(target)
    return _f64(cotangent) * (2.0 * y - 1.0) * special.expit(x) * special.expit(-x)


def one_minus_target_probability(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """1 − p_t = y·σ(−x) + (1 − y)·σ(x), without cancellation."""
    x, y = _f64(logits), _f64(target)
    return y * special.expit(-x) + (1.0 - y) * special.expit(x)


def modulating_factor(logits: np.ndarray, target: np.ndarray, gamma: float) -> np.ndarray:
    """(1 − p_t)^γ: the ratio of the focal loss to the α_t-weighted BCE."""
    return _power(one_minus_target_probability(logits, target), gamma)


def _binary_ce(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -(y * special.log_expit(x) + (1.0 - y) * special.log_expit(-x))


def sigmoid_focal_loss(
    logits: np.ndarray,
    target: np.ndarray,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> np.ndarray:
    """α_t·(1 − p_t)^γ·BCEWithLogits(x, y), reduced ('mean' over all elements)."""
    x, y = _f64(logits), _f64(target)
    per_element = alpha_factor(y, alpha) * modulating_factor(x, y, gamma) * _binary_ce(x, y)
    return reduce(per_element, reduction)


@adjoint_of(sigmoid_focal_loss)
def sigmoid_focal_loss_vjp(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·sigmoid_focal_loss (see the module docstring)."""
    x, y, g = elementwise_vjp_inputs(logits, target, cotangent, params.reduction)
    m = one_minus_target_probability(x, y)
    sigma, sigma_minus = special.expit(x), special.expit(-x)
    with np.errstate(divide="ignore", invalid="ignore"):
        # m^(γ−1)·σ(x)σ(−x) is m^γ·(σ(x)σ(−x)/m); where m = 0 (|x| ≳ 745) both vanish.
        slope = np.where(m > 0, _power(m, params.gamma) * (sigma * sigma_minus / m), 0.0)
    local = params.gamma * (1.0 - 2.0 * y) * slope * _binary_ce(x, y) + _power(m, params.gamma) * (
        sigma - y
    )
    return g * alpha_factor(y, params.alpha) * local


@adjoint_of(sigmoid_focal_loss)
def sigmoid_focal_loss_gradient_bound(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> float:
    """max |g·α_t|·(1 + γ): the size of the terms whose sum is the gradient.

    Implementations form 1 − p_t and σ(x) − y by cancellation (absolute error ε) and scale
    them by up to γ·ce and 1, so the gradient's rounding error is relative to this bound.
    """
    x = _f64(logits)
    g = expand_cotangent(cotangent, x.shape, params.reduction)
    sizes = g * alpha_factor(target, params.alpha) * (1.0 + params.gamma)
    return float(np.max(np.abs(sizes), initial=0.0))


def probability_focal_loss(
    probabilities: np.ndarray,
    target: np.ndarray,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> np.ndarray:
    """(y·α + (1 − y)(1 − α))·(1 − p_t)^γ·BCE(p, y), logs clamped at −100."""
    p, y = _f64(probabilities), _f64(target)
    with np.errstate(divide="ignore"):
        ce = -(
            y * np.maximum(np.log(p), LOG_CLAMP) + (1.0 - y) * np.maximum(np.log1p(-p), LOG_CLAMP)
        )
    m = y * (1.0 - p) + (1.0 - y) * p
    return reduce(_alpha_weight(y, alpha) * _power(m, gamma) * ce, reduction)


@adjoint_of(probability_focal_loss)
def probability_focal_loss_vjp(
    probabilities: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂p of Σ g·probability_focal_loss, for p strictly inside (0, 1) (no log clamp active).

    With m = 1 − p_t:  α_f·[γ·m^(γ−1)·(1 − 2y)·ce + m^γ·(p − y)/(p(1 − p))].
    """
    p, y, g = elementwise_vjp_inputs(probabilities, target, cotangent, params.reduction)
    ce = -(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    m = y * (1.0 - p) + (1.0 - y) * p
    with np.errstate(divide="ignore", invalid="ignore"):
        # m^(γ−1)·ce → 0 as m → 0 (ce ~ m there); m > 0 for p inside (0, 1) and hard y.
        slope = np.where(m > 0, _power(m, params.gamma) * ce / m, 0.0)
    local = params.gamma * (1.0 - 2.0 * y) * slope + _power(m, params.gamma) * (p - y) / (
        p * (1.0 - p)
    )
    return g * _alpha_weight(y, params.alpha) * local


def bce_shortcut_probability(
    logits: np.ndarray, target: np.ndarray, pos_weight: np.ndarray | None = None
) -> np.ndarray:
    """exp(−BCEWithLogits(x, y)) = σ(x)^(pw·y)·σ(−x)^(1−y): the p_t shortcut, pointwise.

    For y ∈ {0, 1} and pw = 1 this is p_t; otherwise a weighted geometric mean, not p_t.
    """
    return np.exp(-binary_cross_entropy_with_logits(logits, target, None, pos_weight, "none"))


@adjoint_of(bce_shortcut_probability)
def bce_shortcut_probability_vjp(
    logits: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·exp(−c):  −g·exp(−c)·((1 − y)·σ(x) − pw·y·σ(−x))."""
    x, y = _f64(logits), _f64(target)
    pw = (
        np.ones_like(x)
        if params.pos_weight is None
        else np.broadcast_to(_f64(params.pos_weight), x.shape)
    )
    dc = (1.0 - y) * special.expit(x) - pw * y * special.expit(-x)
    return -_f64(cotangent) * bce_shortcut_probability(x, y, params.pos_weight) * dc


def _classes_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(_f64(x), 1, -1)


def _softmax_focal_parts(
    scores: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """(log p_y, 1 − p_y, α_y·m per position, one-hot (…, C), 'mean' denominator)."""
    x = _classes_last(scores)
    n_classes = x.shape[-1]
    target = np.asarray(target)
    kept = target != ignore_index
    safe = np.where(kept, target, 0)
    if np.any((safe < 0) | (safe >= n_classes)):
        raise ValueError(f"class-index target out of range [0, {n_classes})")
    w = np.ones(n_classes) if weight is None else _f64(weight)
    coefficient = w[safe] * kept
    one_hot = (safe[..., None] == np.arange(n_classes)).astype(np.float64)
    log_p_y = np.sum(log_softmax(x) * one_hot, axis=-1)
    return log_p_y, -np.expm1(log_p_y), coefficient, one_hot, float(np.sum(coefficient))


def softmax_focal_loss(
    scores: np.ndarray,
    target: np.ndarray,
    gamma: float = 2.0,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    """−α_y·(1 − p_y)^γ·log p_y per position, NLL's weighting, ignore_index and reductions."""
    log_p_y, m, coefficient, _, denominator = _softmax_focal_parts(
        scores, target, weight, ignore_index
    )
    per_position = np.where(coefficient == 0, 0.0, -coefficient * _power(m, gamma) * log_p_y)
    return reduce(per_position, reduction, denominator)


@adjoint_of(softmax_focal_loss)
def softmax_focal_loss_vjp(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂scores of Σ g·softmax_focal_loss (see the module docstring)."""
    log_p_y, m, coefficient, one_hot, denominator = _softmax_focal_parts(
        scores, target, params.weight, params.ignore_index
    )
    p_y = np.exp(log_p_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(m > 0, log_p_y / m, -1.0)  # log p / (1 − p) → −1 as p → 1
    d_log_p = -coefficient * (
        _power(m, params.gamma) - params.gamma * p_y * _power(m, params.gamma) * ratio
    )
    g = expand_cotangent(cotangent, log_p_y.shape, params.reduction, denominator)
    with np.errstate(invalid="ignore"):
        scaled = np.where(coefficient == 0, 0.0, g * d_log_p)
    local = one_hot - softmax(_classes_last(scores))
    return np.moveaxis(scaled[..., None] * local, -1, 1)


@adjoint_of(softmax_focal_loss)
def softmax_focal_loss_gradient_bound(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> float:
    """max_i |g_i|·α_{y_i}·(1 + γ): the size of the terms whose sum is the gradient."""
    _, _, coefficient, _, denominator = _softmax_focal_parts(
        scores, target, params.weight, params.ignore_index
    )
    g = expand_cotangent(cotangent, coefficient.shape, params.reduction, denominator)
    with np.errstate(invalid="ignore"):
        sizes = np.where(coefficient == 0, 0.0, np.abs(g) * coefficient * (1.0 + params.gamma))
    return float(np.max(sizes, initial=0.0))
