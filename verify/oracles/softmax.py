"""Softmax and log-softmax along an axis, with their vector-Jacobian products.

    softmax(x)_i     = exp(x_i) / Σ_j exp(x_j)
    log_softmax(x)_i = x_i − logsumexp(x)

Both are computed by ``scipy.special`` (which subtracts the maximum first), in float64.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of ``x`` along ``axis``."""
    return special.softmax(np.asarray(x, dtype=np.float64), axis=axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax of ``x`` along ``axis``."""
    return special.log_softmax(np.asarray(x, dtype=np.float64), axis=axis)


def softmax_vjp(x: np.ndarray, cotangent: np.ndarray, axis: int = -1) -> np.ndarray:
    """∂/∂x of Σ g·softmax(x):  p ⊙ (g − Σ_j g_j p_j)."""
    p = softmax(x, axis)
    g = np.asarray(cotangent, dtype=np.float64)
    return p * (g - np.sum(g * p, axis=axis, keepdims=True))


def log_softmax_vjp(x: np.ndarray, cotangent: np.ndarray, axis: int = -1) -> np.ndarray:
    """∂/∂x of Σ g·log_softmax(x):  g − p · Σ_j g_j."""
    p = softmax(x, axis)
    g = np.asarray(cotangent, dtype=np.float64)
    return g - p * np.sum(g, axis=axis, keepdims=True)
