"""Negative log-likelihood and cross-entropy over C classes, as PyTorch defines them.

Both losses are written through one coefficient array ``A`` (same shape as the scores, class
axis last) so that the per-position loss is a weighted log-loss

    ℓ_i = −Σ_c A_ic · log p_ic,        p_i = softmax(x_i)

and its gradient is ``∂ℓ_i/∂x_ij = (Σ_c A_ic)·p_ij − A_ij``.

Class-index targets ``y`` with class weights ``w``, ``ignore_index`` and label smoothing ε:

    m_i  = [y_i ≠ ignore_index]
    A_ic = m_i · ((1 − ε)·w_{y_i}·[c = y_i] + (ε/C)·w_c)
    'mean' divides by Σ_i m_i·w_{y_i}  (the summed weight of the targets, not N)

Probability targets ``q`` (same shape as the scores):

    A_ic = w_c · ((1 − ε)·q_ic + ε/C)
    'mean' divides by the number of positions N·d1·…·dk

These are the semantics of ``torch.nn.functional.cross_entropy`` (see its documentation); the
'mean' of an all-ignored or empty batch is 0/0 = NaN.
"""

from __future__ import annotations

import numpy as np

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.reduction import expand_cotangent, reduce
from verify.oracles.softmax import log_softmax, softmax


def _classes_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(np.asarray(x, dtype=np.float64), 1, -1)


def _classes_second(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)


def _is_class_indices(target: np.ndarray) -> bool:
    return np.issubdtype(np.asarray(target).dtype, np.integer)


def _class_weights(n_classes: int, weight: np.ndarray | None) -> np.ndarray:
    if weight is None:
        return np.ones(n_classes)
    return np.asarray(weight, dtype=np.float64)


def _index_coefficients(
    n_classes: int,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
    label_smoothing: float,
) -> tuple[np.ndarray, float]:
    """Coefficients A (positions…, C) and the 'mean' denominator for class-index targets."""
    w = _class_weights(n_classes, weight)
    target = np.asarray(target)
    kept = target != ignore_index
    safe_target = np.where(kept, target, 0)
    if np.any((safe_target < 0) | (safe_target >= n_classes)):
        raise ValueError(f"class-index target out of range [0, {n_classes})")
    target_weight = w[safe_target] * kept
    one_hot = safe_target[..., None] == np.arange(n_classes)
    coefficients = (1.0 - label_smoothing) * one_hot * target_weight[..., None]
    coefficients = coefficients + (label_smoothing / n_classes) * w * kept[..., None]
    return coefficients, float(np.sum(target_weight))


def _probability_coefficients(
    target: np.ndarray, weight: np.ndarray | None, label_smoothing: float
) -> tuple[np.ndarray, float]:
    """Coefficients A (positions…, C) and the 'mean' denominator for probability targets."""
    q = _classes_last(target)
    n_classes = q.shape[-1]
    smoothed = (1.0 - label_smoothing) * q + label_smoothing / n_classes
    positions = int(np.prod(q.shape[:-1]))
    return smoothed * _class_weights(n_classes, weight), float(positions)


def _coefficients(
    scores: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
    label_smoothing: float,
) -> tuple[np.ndarray, float]:
    n_classes = np.shape(scores)[1]
    if _is_class_indices(target):
        return _index_coefficients(n_classes, target, weight, ignore_index, label_smoothing)
    return _probability_coefficients(target, weight, label_smoothing)


def _weighted_log_loss(coefficients: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """−Σ_c A_c log p_c per position, with 0·log 0 taken as 0."""
    terms = np.where(coefficients == 0.0, 0.0, coefficients * log_p)
    return -np.sum(terms, axis=-1)


def _scaled(cotangent: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Per-position cotangent times local gradient; ignored positions (local 0) stay exactly 0.

    An all-ignored 'mean' has cotangent c/0; its positions still receive zero gradient.
    """
    with np.errstate(invalid="ignore"):
        return np.where(local == 0.0, 0.0, cotangent[..., None] * local)


def cross_entropy(
    scores: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """Cross-entropy of unnormalized ``scores`` (N, C, d…) against ``target``.

    ``target`` holds class indices (integer dtype, shape (N, d…)) or class probabilities
    (floating dtype, same shape as ``scores``).
    """
    coefficients, denominator = _coefficients(scores, target, weight, ignore_index, label_smoothing)
    per_position = _weighted_log_loss(coefficients, log_softmax(_classes_last(scores)))
    return reduce(per_position, reduction, denominator)


@adjoint_of(cross_entropy)
def cross_entropy_vjp(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """Gradient of ``Σ cotangent · cross_entropy(scores, target)`` with respect to ``scores``."""
    coefficients, denominator = _coefficients(
        scores, target, params.weight, params.ignore_index, params.label_smoothing
    )
    p = softmax(_classes_last(scores))
    g = expand_cotangent(cotangent, p.shape[:-1], params.reduction, denominator)
    local = np.sum(coefficients, axis=-1, keepdims=True) * p - coefficients
    return _classes_second(_scaled(g, local))


@adjoint_of(cross_entropy)
def cross_entropy_gradient_bound(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> float:
    """max_i |g_i|·Σ_c A_ic: the size of the two terms whose difference is the gradient.

    The gradient (Σ_c A_ic)·p_ij − A_ij cancels where p is near the target, so its rounding
    error is relative to this bound, not to the (possibly tiny) gradient itself.
    """
    coefficients, denominator = _coefficients(
        scores, target, params.weight, params.ignore_index, params.label_smoothing
    )
    g = expand_cotangent(cotangent, coefficients.shape[:-1], params.reduction, denominator)
    with np.errstate(invalid="ignore"):
        bounds = np.abs(_scaled(g, np.sum(coefficients, axis=-1, keepdims=True)))
    return float(np.max(bounds, initial=0.0))


def nll_loss(
    log_probabilities: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    """Negative log-likelihood ``−w_{y_i}·input[i, y_i]`` of class-index ``target``.

    'mean' divides by the summed weight of the non-ignored targets.
    """
    n_classes = np.shape(log_probabilities)[1]
    coefficients, denominator = _index_coefficients(n_classes, target, weight, ignore_index, 0.0)
    per_position = _weighted_log_loss(coefficients, _classes_last(log_probabilities))
    return reduce(per_position, reduction, denominator)


@adjoint_of(nll_loss)
def nll_loss_vjp(
    log_probabilities: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """Gradient of ``Σ cotangent · nll_loss`` with respect to the log-probabilities."""
    n_classes = np.shape(log_probabilities)[1]
    coefficients, denominator = _index_coefficients(
        n_classes, target, params.weight, params.ignore_index, 0.0
    )
    g = expand_cotangent(cotangent, coefficients.shape[:-1], params.reduction, denominator)
    return _classes_second(_scaled(g, -coefficients))
