"""softmax_focal_loss: −α_y·(1 − p_y)^γ·log p_y per position, with NLL's weighting and
reductions (the contract's ``alpha`` is the oracle's per-class ``weight``)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from verify import strategies as vs
from verify.contracts import contract
from verify.contracts.families import categorical
from verify.contracts.families import reduction as reductions
from verify.oracles import focal
from verify.strategies import LossCase


@st.composite
def _cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    case = draw(
        categorical.categorical_cases(dtype, features & {"ignore_index", "k_dim"}, reduction, False)
    )
    params = dict(case.params)
    if "gamma" in features:
        params["gamma"] = draw(st.floats(0.0, 5.0))
    if "alpha" in features:
        params["alpha"] = draw(vs.class_weights(case.scores.shape[1]))
    return LossCase(case.scores, case.target, params, case.cotangent)


def _bounds(case: LossCase, scores: np.ndarray) -> contract.Bounds:
    params = {("weight" if k == "alpha" else k): v for k, v in case.params.items()}
    bound = focal.softmax_focal_loss_gradient_bound(scores, case.target, case.cotangent, **params)
    return categorical.categorical_bounds(
        LossCase(case.scores, case.target, params, case.cotangent), scores, bound
    )


def _edges() -> list[contract.Edge]:
    return [
        *categorical.categorical_edges(False),
        # As for the sigmoid form: 0 < γ < 1 at a saturated softmax (p_y = 1 to working
        # precision, and a confident wrong prediction through the other class).
        contract.Edge(
            "saturated softmax, γ = 0.5",
            LossCase(np.array([[0.0, 50.0], [50.0, 0.0]]), np.array([1, 1]), {"gamma": 0.5}),
            ("gamma",),
        ),
    ]


CONFORMANCE = contract.FeatureMatrix(
    (
        *reductions.REDUCTION_FEATURES,
        contract.Feature("gamma", "γ in [0, 5]", "gamma"),
        contract.Feature("alpha", "per-class α (C,)", "alpha"),
        categorical.IGNORE_INDEX_FEATURE,
        contract.k_dim_feature("K-dimensional scores (N, C, d1, ..., dk)"),
    ),
    _cases,
    _bounds,
    edges=_edges,
)

CONTRACT = contract.Contract(
    name="softmax_focal_loss",
    summary="−α_y·(1 − p_y)^γ·log p_y per position, NLL's weighting and reductions",
    reference=contract.renamed_param(focal.softmax_focal_loss, "alpha", "weight", None),
    gradient=contract.renamed_param(focal.softmax_focal_loss_vjp, "alpha", "weight", None),
    params=(
        contract.Param("gamma", 2.0, "a float ≥ 0"),
        contract.Param("alpha", None, "None or per-class weights (C,)"),
        categorical.IGNORE_INDEX,
        reductions.REDUCTION,
    ),
    input_kinds=categorical.CLASS_INDICES,
    implementations=(),
    without_torch_form="torch has none",
    conformance=CONFORMANCE,
    benchmark_cases=(),  # not benchmarked yet: no reference implementation to time it against
)
