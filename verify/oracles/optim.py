"""Optimizer update rules, written from their published algorithms.

``sgd_trajectory`` follows the SGD algorithm in PyTorch's documentation (Sutskever et al.,
2013 for momentum and Nesterov momentum), with weight decay coupled into the gradient:

    g_t = ∇f(w_{t−1}) + λ·w_{t−1}
    b_t = g_t                             (t = 1)
    b_t = μ·b_{t−1} + (1 − τ)·g_t         (t > 1)
    g_t = g_t + μ·b_t  (Nesterov)   or   g_t = b_t   (μ ≠ 0)
    w_t = w_{t−1} − lr·g_t
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sgd_trajectory(
    w0: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    *,
    steps: int,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> list[np.ndarray]:
    """Iterates ``[w_0, w_1, …, w_steps]`` of SGD on the objective whose gradient is given."""
    w = np.array(w0, dtype=np.float64)
    trajectory = [w.copy()]
    buffer = None
    for _ in range(steps):
        g = gradient(w) + weight_decay * w
        if momentum != 0.0:
            buffer = g.copy() if buffer is None else momentum * buffer + (1.0 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        w = w - lr * g
        trajectory.append(w.copy())
    return trajectory
