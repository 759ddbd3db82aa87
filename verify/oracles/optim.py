"""Optimizer update rules, written from their published algorithms.

``sgd_trajectory`` follows the SGD algorithm in PyTorch's documentation (Sutskever et al.,
2013 for momentum and Nesterov momentum), with weight decay coupled into the gradient:

    g_t = ∇f(w_{t−1}) + λ·w_{t−1}
    b_t = g_t                             (t = 1)
    b_t = μ·b_{t−1} + (1 − τ)·g_t         (t > 1)
    g_t = g_t + μ·b_t  (Nesterov)   or   g_t = b_t   (μ ≠ 0)
    w_t = w_{t−1} − lr·g_t

``adam_trajectory`` follows Adam (Kingma & Ba, 2015, Algorithm 1) as PyTorch documents it
(``amsgrad=False``, ``maximize=False``), with L2 weight decay coupled into the gradient, so
that the decay is rescaled by the adaptive denominator like the rest of the gradient:

    g_t = ∇f(w_{t−1}) + λ·w_{t−1}
    m_t = β₁·m_{t−1} + (1 − β₁)·g_t                 (m_0 = 0)
    v_t = β₂·v_{t−1} + (1 − β₂)·g_t²                (v_0 = 0)
    m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ)
    w_t = w_{t−1} − lr·m̂_t / (√v̂_t + ε)

``adamw_trajectory`` follows AdamW (Loshchilov & Hutter, 2019, Algorithm 2, with the schedule
multiplier η_t = 1) as PyTorch documents it: the decay is decoupled from the gradient and
applied to the weights before the Adam step, scaled by lr but not by the denominator:

    w′ = w_{t−1}·(1 − lr·λ)
    g_t = ∇f(w_{t−1})
    m_t, v_t, m̂_t, v̂_t as above
    w_t = w′ − lr·m̂_t / (√v̂_t + ε)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Required, TypedDict, Unpack

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


class AdamOptions(TypedDict, total=False):
    """Adam's and AdamW's settings besides the decay: ``steps`` and ``lr`` are required."""

    steps: Required[int]
    lr: Required[float]
    betas: tuple[float, float]
    eps: float


def _adam(
    w0: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    *,
    steps: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    coupled_decay: float | np.ndarray = 0.0,
    decoupled_decay: float | np.ndarray = 0.0,
) -> list[np.ndarray]:
    beta1, beta2 = betas
    w = np.array(w0, dtype=np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    trajectory = [w.copy()]
    for t in range(1, steps + 1):
        g = gradient(w) + coupled_decay * w
        w = w * (1.0 - lr * decoupled_decay)
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(w.copy())
    return trajectory


def adam_trajectory(
    w0: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    *,
    weight_decay: float | np.ndarray = 0.0,
    **options: Unpack[AdamOptions],
) -> list[np.ndarray]:
    """Iterates ``[w_0, …, w_steps]`` of Adam with coupled L2 decay λ (``weight_decay``).

    ``weight_decay`` may be an array of the shape of ``w0``: one λ per coordinate (parameter
    groups with different decays, flattened side by side).
    """
    return _adam(w0, gradient, coupled_decay=weight_decay, **options)


def adamw_trajectory(
    w0: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    *,
    weight_decay: float | np.ndarray = 1e-2,
    **options: Unpack[AdamOptions],
) -> list[np.ndarray]:
    """Iterates ``[w_0, …, w_steps]`` of AdamW: w ← w·(1 − lr·λ), then the plain Adam step.

    The default λ = 1e-2 is AdamW's, as in PyTorch.
    """
    return _adam(w0, gradient, decoupled_decay=weight_decay, **options)
