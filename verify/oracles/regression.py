"""Regression losses on the error d = input − target, as PyTorch defines them.

With ``input`` and ``target`` of the same shape (PyTorch broadcasts them, with a warning; the
oracles do not), every loss is an elementwise function ℓ(d) followed by a reduction ('mean'
divides by the number of elements, ``numel``, not by the batch size N):

    L1           ℓ(d) = |d|
    MSE          ℓ(d) = d²
    SmoothL1(β)  ℓ(d) = 0.5·d²/β          if |d| < β
                        |d| − 0.5·β        otherwise
    Huber(δ)     ℓ(d) = 0.5·d²             if |d| < δ
                        δ·(|d| − 0.5·δ)    otherwise

so Huber(δ) = δ·SmoothL1(β=δ). Both branches of SmoothL1 meet at |d| = β with value β/2 and
slope sign(d): the loss is continuous with a continuous first derivative there.

PyTorch's conventions, followed here:

- ``beta = 0`` is allowed for SmoothL1 and is exactly L1 (no |d| < 0 exists, the outer branch
  is |d| − 0); ``delta`` must be positive for Huber.
- The derivatives are ℓ'(d) = sign(d) for L1, 2d for MSE, d/β inside and sign(d) outside for
  SmoothL1, d inside and δ·sign(d) outside for Huber, with **sign(0) = 0**: where L1 has its
  kink (d = 0), PyTorch's gradient is the subgradient 0 (also SmoothL1 with β = 0).
- At |d| = β exactly, both branch formulas give the same value and the same slope.

Each ``*_vjp`` is the gradient of ``Σ cotangent · loss`` with respect to ``input``: ℓ'(d) times
the expanded cotangent (divided by ``numel`` for 'mean'). The gradient with respect to
``target`` is its negative.
"""

from __future__ import annotations

import numpy as np

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.reduction import expand_cotangent, float64, reduce


def _error(input: np.ndarray, target: np.ndarray) -> np.ndarray:
    x, y = float64(input, target)
    if x.shape != y.shape:
        raise ValueError(f"input {x.shape} and target {y.shape} must have the same shape")
    return x - y


def _check_positive(name: str, value: float, *, allow_zero: bool) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}")


def l1_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Σ or mean of |input − target| (mean over every element)."""
    return reduce(np.abs(_error(input, target)), reduction)


@adjoint_of(l1_loss)
def l1_loss_vjp(
    input: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂input of Σ g·L1:  g·sign(d), with sign(0) = 0 (PyTorch's subgradient at the kink)."""
    d = _error(input, target)
    return expand_cotangent(cotangent, d.shape, params.reduction) * np.sign(d)


def mse_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Σ or mean of (input − target)² (mean over every element)."""
    d = _error(input, target)
    return reduce(d * d, reduction)


@adjoint_of(mse_loss)
def mse_loss_vjp(
    input: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂input of Σ g·MSE:  2·g·d."""
    d = _error(input, target)
    return expand_cotangent(cotangent, d.shape, params.reduction) * 2.0 * d


def smooth_l1_elementwise(d: np.ndarray, beta: float) -> np.ndarray:
    """ℓ(d) = 0.5·d²/β for |d| < β, |d| − 0.5·β otherwise (|d| when β = 0)."""
    _check_positive("beta", beta, allow_zero=True)
    d = np.asarray(d, dtype=np.float64)
    inside = np.abs(d) < beta
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = 0.5 * d * d / beta
    return np.where(inside, quadratic, np.abs(d) - 0.5 * beta)


def smooth_l1_derivative(d: np.ndarray, beta: float) -> np.ndarray:
    """ℓ'(d) = d/β for |d| < β, sign(d) otherwise (sign(0) = 0, so 0 at d = 0 when β = 0)."""
    _check_positive("beta", beta, allow_zero=True)
    d = np.asarray(d, dtype=np.float64)
    inside = np.abs(d) < beta
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = d / beta
    return np.where(inside, slope, np.sign(d))


def smooth_l1_loss(
    input: np.ndarray, target: np.ndarray, reduction: str = "mean", beta: float = 1.0
) -> np.ndarray:
    """SmoothL1(β) of input − target (see the module docstring), then ``reduction``."""
    return reduce(smooth_l1_elementwise(_error(input, target), beta), reduction)


@adjoint_of(smooth_l1_loss)
def smooth_l1_loss_vjp(
    input: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂input of Σ g·SmoothL1(β):  g·d/β inside |d| < β, g·sign(d) outside; |·| ≤ |g|."""
    d = _error(input, target)
    return expand_cotangent(cotangent, d.shape, params.reduction) * smooth_l1_derivative(
        d, params.beta
    )


def huber_loss(
    input: np.ndarray, target: np.ndarray, reduction: str = "mean", delta: float = 1.0
) -> np.ndarray:
    """Huber(δ) of input − target: 0.5·d² for |d| < δ, δ·(|d| − 0.5·δ) otherwise."""
    _check_positive("delta", delta, allow_zero=False)
    d = _error(input, target)
    inside = np.abs(d) < delta
    per_element = np.where(inside, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
    return reduce(per_element, reduction)


@adjoint_of(huber_loss)
def huber_loss_vjp(
    input: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂input of Σ g·Huber(δ):  g·d inside |d| < δ, g·δ·sign(d) outside; |·| ≤ δ·|g|."""
    _check_positive("delta", params.delta, allow_zero=False)
    d = _error(input, target)
    slope = np.where(np.abs(d) < params.delta, d, params.delta * np.sign(d))
    return expand_cotangent(cotangent, d.shape, params.reduction) * slope
