"""softmax and log_softmax (one input along ``dim``, no target): the parameter, case strategy,
bounds, edge case, diagnosis variant and form cases they share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from verify import oracles
from verify import strategies as vs
from verify.benchmarking.workloads import Case
from verify.contracts.contract import (
    Bounds,
    Contract,
    Edge,
    FeatureMatrix,
    FormCase,
    Param,
    Variant,
    k_dim_feature,
    renamed_param,
    torch_forms,
)
from verify.contracts.families.reduction import not_applicable
from verify.strategies import LossCase
from verify.tolerances import logsumexp_condition

DIM = Param("dim", 1, "the class axis")
SCORES = ("scores (N, C, d1..dk)",)


def along_dim(oracle: Callable[..., Any]) -> Callable[..., Any]:
    """An axis-taking oracle under PyTorch's parameter name ``dim``."""
    return renamed_param(oracle, "dim", "axis", 1)


@st.composite
def normalization_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    kdims = 2 if "k_dim" in features else 0
    shape = draw(vs.shapes(min_n=1, max_n=5, min_c=1, max_c=6, max_kdims=kdims))
    if kdims and len(shape) == 2:
        shape = (*shape, 2)
    scores = draw(vs.logits(shape, vs.logit_bound(dtype)))
    return LossCase(scores, None, {"dim": 1}, draw(vs.cotangents(shape)))


def normalization_bounds(case: LossCase, scores: np.ndarray, log: bool) -> Bounds:
    condition, terms = (
        logsumexp_condition(scores),
        max(scores.shape[1] if scores.ndim > 1 else 1, 1),
    )
    largest_cotangent = float(np.max(np.abs(case.cotangent), initial=0.0))
    # softmax: p·(g − Σ g·p) cancels at the scale of g; log_softmax: g − p·Σg at C·|g|.
    gradient_scale = largest_cotangent * (terms if log else 1.0)
    return Bounds(
        value={"terms": terms, "condition": condition, "scale": 1.0},
        gradient={"terms": terms, "condition": condition, "scale": gradient_scale},
    )


def along_batch(description: str, oracle: Callable[..., np.ndarray]) -> Variant:
    """The normalization taken over dim 0 (the batch) instead of dim 1."""

    def value(case: LossCase) -> np.ndarray:
        return oracle(case.scores, axis=0) if case.scores.shape[0] > 1 else not_applicable()

    return Variant(description, value)


def normalization_edges() -> list[Edge]:
    empty = np.zeros((0, 3))
    return [Edge("empty_batch", LossCase(empty, None, {"dim": 1}, empty))]


@st.composite
def normalization_form_cases(draw: st.DrawFn, dtype: torch.dtype) -> FormCase:
    """Scores of any shape up to (N, C, d), and any valid ``dim`` (negative ones included)."""
    shape = draw(vs.shapes(min_n=1, max_n=4, max_c=5, max_kdims=1, max_side=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return FormCase((draw(vs.logits(shape, vs.logit_bound(dtype))),), {"dim": dim}, shape)


def normalization_matrix(
    oracle: Callable[..., np.ndarray], log: bool, k_dim: str, along_batch_variant: str
) -> FeatureMatrix:
    """The feature matrix of softmax (``log`` False) or log_softmax (``log`` True): K-dimensional
    scores as the one feature, and the normalization over the batch as the variant."""
    return FeatureMatrix(
        (k_dim_feature(k_dim),),
        normalization_cases,
        lambda case, scores: normalization_bounds(case, scores, log=log),
        edges=normalization_edges,
        variants=(along_batch(along_batch_variant, oracle),),
    )


def normalization_contract(
    name: str,
    summary: str,
    module: type[nn.Module],
    k_dim: str,
    benchmark_cases: tuple[Case, ...],
) -> Contract:
    """softmax's or log_softmax's contract: the oracle and its VJP named after it in
    ``verify.oracles``, torch's forms ``F.<name>`` and ``module``, ``dim`` as the parameter."""
    oracle = getattr(oracles, name)
    return Contract(
        name=name,
        summary=summary,
        reference=along_dim(oracle),
        gradient=along_dim(getattr(oracles, f"{name}_vjp")),
        params=(DIM,),
        input_kinds=SCORES,
        implementations=torch_forms(getattr(F, name), module),
        conformance=normalization_matrix(
            oracle,
            log=name.startswith("log_"),
            k_dim=k_dim,
            along_batch_variant=f"{name} over dim 0 (the batch) instead of dim 1",
        ),
        form_cases=normalization_form_cases,
        benchmark_cases=benchmark_cases,
    )
