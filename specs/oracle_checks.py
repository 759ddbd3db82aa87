"""The specs' value-and-gradient assertion against a float64 oracle, for the checks whose value
and gradient share their tolerance arguments (terms, condition, pointwise) and differ only in
the scale each error is measured against."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from verify.autodiff import assert_value_and_gradient
from verify.tolerances import logsumexp_condition, softplus_condition


@dataclasses.dataclass(frozen=True)
class Expected:
    """A float64 oracle's value and gradient, and the scales of their rounding bounds."""

    value: Any
    grad: Any
    scale: float
    grad_scale: float | None


def logsumexp_tolerance(scores: np.ndarray) -> dict[str, Any]:
    """Tolerance arguments of a pointwise check of a loss built on log-sum-exps of ``scores``."""
    return {
        "terms": max(scores.size, 1),
        "condition": logsumexp_condition(scores),
        "pointwise": True,
    }


def softplus_tolerance(logits: np.ndarray) -> dict[str, Any]:
    """Tolerance arguments of a pointwise check of a loss built on softplus of ``logits``."""
    return {
        "terms": max(logits.size, 1),
        "condition": softplus_condition(logits),
        "pointwise": True,
    }


def assert_matches_oracle(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[Any],
    expected: Expected,
    *,
    cotangent: np.ndarray | float,
    dtype: torch.dtype,
    tolerance: dict[str, Any],
    what: str,
    **params: Any,
) -> tuple[torch.Tensor, np.ndarray]:
    """``fn(*inputs, **params)`` and its gradient (of Σ cotangent·value) against ``expected``,
    each within ``tolerance`` at its own scale."""
    return assert_value_and_gradient(
        fn,
        inputs,
        expected.value,
        expected.grad,
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={**tolerance, "scale": expected.scale},
        grad_tolerance={**tolerance, "scale": expected.grad_scale},
        what=what,
        **params,
    )


def assert_each_matches_oracle(
    sides: Mapping[str, tuple[Callable[..., torch.Tensor], Sequence[Any], Expected]],
    *,
    cotangent: np.ndarray | float,
    dtype: torch.dtype,
    tolerance: dict[str, Any],
    **params: Any,
) -> None:
    """Each ``name: (fn, inputs, expected)`` of ``sides`` through ``assert_matches_oracle``, with
    the same cotangent, tolerance arguments and ``params``; failures name the side."""
    for name, (fn, inputs, expected) in sides.items():
        assert_matches_oracle(
            fn,
            inputs,
            expected,
            cotangent=cotangent,
            dtype=dtype,
            tolerance=tolerance,
            what=name,
            **params,
        )
