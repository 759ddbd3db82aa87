"""The ``reduction`` keyword every loss contract shares: its parameter, its optional features,
how a case passes it, and the empty-batch edge cases it decides."""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.contracts.contract import Edge, Feature, Param
from verify.oracles.reduction import REDUCTIONS
from verify.strategies import LossCase

REDUCTION = Param("reduction", "mean", "one of 'none', 'mean', 'sum'", REDUCTIONS)

REDUCTION_FEATURES = (
    Feature("reduction=none", "unreduced per-position loss", "reduction"),
    Feature("reduction=sum", "summed loss", "reduction"),
)


def reduction_params(reduction: str, default: str = "mean") -> dict[str, Any]:
    """The ``reduction`` keyword, passed only when it is not the contract's default: an
    implementation that declines the keyword still runs its core case."""
    return {} if reduction == default else {"reduction": reduction}


def with_params(params: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**params, **changes}


def output_shape(positions: tuple[int, ...], reduction: str) -> tuple[int, ...]:
    return positions if reduction == "none" else ()


def empty_batches(
    inputs: np.ndarray, target: np.ndarray | None, default: str = "mean", **params: Any
) -> list[Edge]:
    """A batch of size 0 under the default reduction and each other one ('mean' is 0/0 = NaN,
    'sum' is 0, 'none' is empty)."""
    edges = []
    for reduction in ("mean", "sum", "none"):
        case = LossCase(
            inputs[:0],
            None if target is None else target[:0],
            {**params, **reduction_params(reduction, default)},
        )
        name = "empty_batch" if reduction == default else f"empty_batch, {reduction}"
        features = () if reduction == default else (f"reduction={reduction}",)
        edges.append(Edge(name, case, features))
    return edges


def not_applicable() -> np.ndarray:
    """A variant's value where the variant does not apply (NaN: matches nothing)."""
    return np.full((), np.nan)
