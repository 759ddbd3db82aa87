"""nll_loss: −w_y·input[y] per position; 'mean' divides by the summed target weights."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from verify import oracles
from verify import strategies as vs
from verify.benchmarking import workloads as w
from verify.contracts import contract
from verify.contracts.families import categorical
from verify.contracts.families import reduction as reductions
from verify.strategies import LossCase


def _bounds(case: LossCase, scores: np.ndarray) -> contract.Bounds:
    return categorical.categorical_bounds(case, scores, None)


def _sum_for_mean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean":
        return reductions.not_applicable()
    return oracles.nll_loss(
        case.scores, case.target, **reductions.with_params(case.params, reduction="sum")
    )


CONFORMANCE = contract.FeatureMatrix(
    (
        *reductions.REDUCTION_FEATURES,
        categorical.WEIGHT_FEATURE,
        categorical.IGNORE_INDEX_FEATURE,
        contract.k_dim_feature("K-dimensional input (N, C, d1, ..., dk)"),
    ),
    lambda dtype, features, reduction: categorical.categorical_cases(
        dtype, features, reduction, True
    ),
    _bounds,
    variants=(contract.Variant("sum instead of mean", _sum_for_mean),),
    edges=lambda: categorical.categorical_edges(True),
)


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Class indices, K ≤ 1 extra dims, weight and ignore_index (logits as the input: the
    forms are compared, not the values)."""
    case = draw(vs.classification_cases(dtype, max_kdims=1))
    params = {k: v for k, v in case.params.items() if k != "reduction"}
    return contract.FormCase((case.scores, case.target), params, categorical.positions(case.scores))


CONTRACT = contract.torch_contract(
    "nll_loss",
    nn.NLLLoss,
    summary="−w_{y}·input[y] per position; 'mean' divides by the summed target weights",
    params=(categorical.CLASS_WEIGHT, categorical.IGNORE_INDEX, reductions.REDUCTION),
    input_kinds=categorical.CLASS_INDICES,
    conformance=CONFORMANCE,
    form_cases=form_cases,
    benchmark_cases=w.cases(
        "nll_loss", (w.IMAGE, w.LM_32K), w.log_probabilities_and_classes, gathers=True
    ),
)
