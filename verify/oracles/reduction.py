"""The three reductions PyTorch losses share, and their adjoints.

``reduce(per_element, reduction, denominator)`` maps the unreduced loss to the reported value:
'none' returns it as is, 'sum' adds it up and 'mean' divides the sum by ``denominator``
(the number of elements unless a loss says otherwise, e.g. the summed class weights of the
targets for cross-entropy). A zero denominator gives NaN, as in PyTorch.

``expand_cotangent`` is the adjoint: the gradient of ``sum(cotangent * reduce(l))`` with
respect to each element of ``l``.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


def float64(*arrays: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """Each of ``arrays`` as a float64 array."""
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def elementwise_vjp_inputs(
    inputs: np.ndarray, target: np.ndarray, cotangent: np.ndarray | float, reduction: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where an elementwise loss's VJP starts: its inputs and target as float64, and the
    cotangent spread over every element of the unreduced loss (``expand_cotangent``)."""
    x, y = float64(inputs, target)
    return x, y, expand_cotangent(cotangent, x.shape, reduction)


def reduce(per_element: np.ndarray, reduction: str, denominator: float | None = None) -> np.ndarray:
    """Apply ``reduction`` to ``per_element``; 'mean' divides by ``denominator`` (default: size)."""
    if reduction == "none":
        return per_element
    total = np.sum(per_element, dtype=np.float64)
    if reduction == "sum":
        return np.asarray(total)
    if reduction == "mean":
        count = per_element.size if denominator is None else denominator
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.float64(total) / np.float64(count))
    raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")


def expand_cotangent(
    cotangent: np.ndarray | float,
    shape: tuple[int, ...],
    reduction: str,
    denominator: float | None = None,
) -> np.ndarray:
    """Gradient of ``sum(cotangent * reduce(l, reduction))`` with respect to ``l`` of ``shape``."""
    cotangent = np.asarray(cotangent, dtype=np.float64)
    if reduction == "none":
        return np.broadcast_to(cotangent, shape).astype(np.float64)
    if reduction == "sum":
        return np.full(shape, float(cotangent))
    if reduction == "mean":
        count = int(np.prod(shape)) if denominator is None else denominator
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.full(shape, np.float64(cotangent) / np.float64(count))
    raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
