"""Entropy and cross-entropy between probability distributions along an axis.

    H(p)         = −Σ_c p_c log p_c                 (0·log 0 = 0, ``scipy.special.entr``)
    CE(p, log q) = −Σ_c p_c log q_c                 (0 where p_c = 0, whatever log q_c is)

so that KL(p ‖ q) = Σ_c p_c log(p_c / q_c) = CE(p, log q) − H(p) (``verify.oracles.divergence``
computes the same KL pointwise with ``xlogy``). The second argument of ``cross_entropy`` is
log q, as PyTorch's losses take it: q itself would underflow to 0 for log q < −745.

For logits z and p = softmax(z):

    H(softmax(z))             = −Σ_c p_c log_softmax(z)_c
    ∂/∂z_j Σ g·H(softmax(z))  = −g·p_j·(log p_j + H)

All in float64, from ``scipy.special``; nothing here imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from verify.oracles.softmax import log_softmax, softmax


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """H(p) = −Σ p log p along ``axis``, with 0·log 0 = 0."""
    return np.sum(special.entr(np.asarray(p, dtype=np.float64)), axis=axis)


def cross_entropy(p: np.ndarray, log_q: np.ndarray, axis: int = -1) -> np.ndarray:
    """CE(p, q) = −Σ p log q along ``axis``, given log q; terms with p = 0 are 0."""
    p = np.asarray(p, dtype=np.float64)
    log_q = np.asarray(log_q, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        terms = np.where(p == 0.0, 0.0, p * log_q)
    return -np.sum(terms, axis=axis)


def softmax_entropy(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """H(softmax(z)) along ``axis`` for finite logits ``z``."""
    return cross_entropy(softmax(z, axis), log_softmax(z, axis), axis)


def softmax_entropy_vjp(z: np.ndarray, cotangent: np.ndarray | float, axis: int = -1) -> np.ndarray:
    """∂/∂z of Σ g·H(softmax(z)):  −g·p ⊙ (log p + H), with g broadcast along ``axis``."""
    p, log_p = softmax(z, axis), log_softmax(z, axis)
    h = np.expand_dims(cross_entropy(p, log_p, axis), axis)
    g = np.asarray(cotangent, dtype=np.float64)
    g = np.expand_dims(g, axis) if g.ndim else g
    return -g * p * (log_p + h)
