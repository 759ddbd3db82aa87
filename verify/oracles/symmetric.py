"""Symmetric cross-entropy (Wang et al., 2019, "Symmetric Cross Entropy for Robust Learning with
Noisy Labels"), in float64.

**Binary.** Both arguments of the cross-entropy are clamped to [low, high] (1e-4 and 1 − 1e-4
in the paper's setting), so that the reverse term, which takes the log of the label, is finite:

    ce(a, b)  = −ā·log b̄ − (1 − ā)·log(1 − b̄),     ā = clamp(a, low, high), b̄ likewise
    rce(y, p) = ce(p, y)

The gradient passes through a clamp where low < value < high and is zero outside. At a value
equal to a bound either is a valid subgradient, and torch changed its choice: ``torch.clamp``'s
gradient there is 1 up to torch 2.13 and 0 from 2.14 (measured), so ``at_bounds`` takes the
factor at (low, high).

**Multi-class.** With p = softmax(x) and the one-hot label clamped to [ε, 1] (ε = 1e-4):

    RCE = −Σ_c p_c·log clamp(onehot(y), ε, 1)_c = −log ε·Σ_{c≠y} p_c = −log ε·(1 − p_y)
    SCE = a·CE + b·RCE

1 − p_y is summed from the other classes' probabilities (no cancellation). Its gradient is
∂(1 − p_y)/∂x_j = p_y·(p_j − [j = y]). 'mean' divides by the number of positions.
"""

from __future__ import annotations

import math

import numpy as np

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.categorical import cross_entropy, cross_entropy_vjp
from verify.oracles.reduction import expand_cotangent, reduce
from verify.oracles.softmax import softmax

LOW, HIGH, LABEL_EPS = 1e-4, 1.0 - 1e-4, 1e-4


def _f64(array: np.ndarray | float) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def clamped_binary_cross_entropy(
    a: np.ndarray | float,
    b: np.ndarray | float,
    low: float = LOW,
    high: float = HIGH,
    reduction: str = "none",
) -> np.ndarray:
    """ce(a, b) = −ā log b̄ − (1 − ā) log(1 − b̄) on both arguments clamped to [low, high]."""
    a_c, b_c = np.clip(_f64(a), low, high), np.clip(_f64(b), low, high)
    with np.errstate(divide="ignore"):
        per_element = -(a_c * np.log(b_c) + (1.0 - a_c) * np.log1p(-b_c))
    return reduce(per_element, reduction)


def clamped_binary_cross_entropy_vjp(
    a: np.ndarray | float,
    b: np.ndarray | float,
    cotangent: np.ndarray | float = 1.0,
    low: float = LOW,
    high: float = HIGH,
    reduction: str = "none",
    wrt: int = 0,
    at_bounds: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """∂/∂a (``wrt=0``) or ∂/∂b (``wrt=1``) of Σ g·ce(a, b).

    ∂ce/∂ā = log(1 − b̄) − log b̄,   ∂ce/∂b̄ = (b̄ − ā)/(b̄(1 − b̄)),  times the clamp's
    gradient: 1 where low < · < high, ``at_bounds`` at a value equal to low or high, 0 outside.
    """
    a, b = _f64(a), _f64(b)
    a_c, b_c = np.clip(a, low, high), np.clip(b, low, high)
    shape = np.broadcast_shapes(a.shape, b.shape)
    g = expand_cotangent(cotangent, shape, reduction)
    if wrt == 0:
        with np.errstate(divide="ignore"):
            local = np.log1p(-b_c) - np.log(b_c)
        clamped = a
    else:
        local = (b_c - a_c) / (b_c * (1.0 - b_c))
        clamped = b
    factor = np.where((clamped > low) & (clamped < high), 1.0, 0.0)
    factor = np.where(clamped == low, at_bounds[0], np.where(clamped == high, at_bounds[1], factor))
    return g * local * factor


def _probability_of_others(scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, ...]:
    """(p (N, C), one-hot (N, C), Σ_{c≠y} p_c (N,)) for scores (N, C) and class indices (N,)."""
    p = softmax(_f64(scores), axis=1)
    one_hot = (np.asarray(target)[:, None] == np.arange(p.shape[1])).astype(np.float64)
    return p, one_hot, np.sum(p * (1.0 - one_hot), axis=1)


def reverse_cross_entropy(
    scores: np.ndarray, target: np.ndarray, eps: float = LABEL_EPS, reduction: str = "mean"
) -> np.ndarray:
    """RCE = −log ε·(1 − p_y) per sample (scores (N, C), class indices (N,))."""
    _, _, others = _probability_of_others(scores, target)
    return reduce(-math.log(eps) * others, reduction)


@adjoint_of(reverse_cross_entropy)
def reverse_cross_entropy_vjp(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·RCE:  −log ε·g_i·p_y·(p_j − [j = y])."""
    p, one_hot, others = _probability_of_others(scores, target)
    g = expand_cotangent(cotangent, others.shape, params.reduction)
    p_y = np.sum(p * one_hot, axis=1)
    return (-math.log(params.eps) * g * p_y)[:, None] * (p - one_hot)


def symmetric_cross_entropy(
    scores: np.ndarray,
    target: np.ndarray,
    a: float = 1.0,
    b: float = 1.0,
    eps: float = LABEL_EPS,
    reduction: str = "mean",
) -> np.ndarray:
    """SCE = a·CE + b·RCE per sample, reduced ('mean' over the N samples)."""
    ce = cross_entropy(scores, target, reduction="none")
    rce = reverse_cross_entropy(scores, target, eps, reduction="none")
    return reduce(a * ce + b * rce, reduction)


@adjoint_of(symmetric_cross_entropy)
def symmetric_cross_entropy_vjp(
    scores: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂x of Σ g·SCE = a·(CE's gradient) + b·(RCE's gradient)."""
    g = expand_cotangent(cotangent, (np.shape(scores)[0],), params.reduction)
    return params.a * cross_entropy_vjp(scores, target, g, reduction="none") + (
        params.b * reverse_cross_entropy_vjp(scores, target, g, params.eps, reduction="none")
    )
