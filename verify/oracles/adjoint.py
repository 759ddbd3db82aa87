"""A loss's VJP and gradient bound take the loss's own parameters: ``adjoint_of`` writes them
once.

``@adjoint_of(loss)`` on ``fn(first, second, cotangent, params)`` makes a function called as
``loss`` is, with ``cotangent`` (default 1.0) inserted before the loss's first parameter that
has a default; ``params`` holds the loss's other parameters by name, defaults filled in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
Cotangent = np.ndarray | float
Params = SimpleNamespace


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
