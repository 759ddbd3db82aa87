"""Kullback-Leibler divergence as ``torch.nn.functional.kl_div`` defines it.

The input is log-probabilities ``a = log q``; the target is probabilities ``t`` (or, with
``log_target=True``, log-probabilities ``s = log t``). Pointwise:

    ℓ = t·(log t − a)          (0 where t = 0)
    ℓ = exp(s)·(s − a)         with log_target

Reductions: 'none', 'sum', 'mean' (divides by the number of elements, N·C) and 'batchmean'
(divides by the batch size N = input.shape[0], the mathematically correct KL per sample).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from verify.oracles.adjoint import Cotangent, Params, adjoint_of
from verify.oracles.reduction import expand_cotangent, float64, reduce

KL_REDUCTIONS = ("none", "mean", "sum", "batchmean")


def _reduction_and_denominator(shape: tuple[int, ...], reduction: str) -> tuple[str, float | None]:
    if reduction == "batchmean":
        return "mean", float(shape[0]) if shape else 1.0
    return reduction, None


def kl_div(
    log_input: np.ndarray,
    target: np.ndarray,
    reduction: str = "mean",
    log_target: bool = False,
) -> np.ndarray:
    """KL(t ‖ exp(log_input)) pointwise, reduced; see the module docstring."""
    a, t = float64(log_input, target)
    per_element = np.exp(t) * (t - a) if log_target else special.xlogy(t, t) - t * a
    base, denominator = _reduction_and_denominator(a.shape, reduction)
    return reduce(per_element, base, denominator)


@adjoint_of(kl_div)
def kl_div_vjp(
    log_input: np.ndarray, target: np.ndarray, cotangent: Cotangent, params: Params
) -> np.ndarray:
    """∂/∂a of Σ g·kl_div:  −g·t  (or −g·exp(s) with log_target)."""
    a, t = float64(log_input, target)
    base, denominator = _reduction_and_denominator(a.shape, params.reduction)
    g = expand_cotangent(cotangent, a.shape, base, denominator)
    return -g * (np.exp(t) if params.log_target else t)
