"""The three reductions PyTorch losses share, and their adjoints.

``reduce(per_element, reduction, denominator)`` maps the unreduced loss to the reported value:
'none' returns it as is, 'sum' adds it up and 'mean' divides the sum by ``denominator``
(the number of elements unless a loss says otherwise, e.g. the summed class weights of the
targets for cross-entropy). A zero denominator gives NaN, as in PyTorch.

``expand_cotangent`` is the adjoint: the gradient of ``sum(cotangent * reduce(l))`` with
respect to each element of ``l``. ``adjoint_of`` gives a loss's VJP and gradient bound the
loss's own parameters, so that they are written once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

REDUCTIONS = ("none", "mean", "sum")


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


def adjoint_of(loss: Callable[..., np.ndarray]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a VJP or gradient bound of ``loss`` the loss's parameters, written once.

    The decorated ``fn(first, second, cotangent, params)`` is called as ``loss`` is, with
    ``cotangent`` (default 1.0) before the first parameter that has a default; ``params`` holds the
    loss's parameters by name, defaults filled in (unknown names raise ``TypeError``)."""
    parameters = list(inspect.signature(loss).parameters.values())
    split = next((i for i, q in enumerate(parameters) if q.default is not q.empty), len(parameters))
    given = inspect.Parameter("cotangent", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=1.0)
    signature = inspect.Signature([*parameters[:split], given, *parameters[split:]])

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        def adjoint(*args: Any, **kwargs: Any) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            first, second = (arguments.pop(q.name) for q in parameters[:2])
            cotangent = arguments.pop("cotangent")
            return fn(first, second, cotangent, SimpleNamespace(**arguments))

        adjoint.__name__, adjoint.__qualname__ = fn.__name__, fn.__qualname__
        adjoint.__doc__, adjoint.__module__ = fn.__doc__, fn.__module__
        adjoint.__signature__ = signature  # type: ignore[attr-defined]
        return adjoint

    return decorate
