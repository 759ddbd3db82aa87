"""sigmoid_focal_loss: α_t·(1 − p_t)^γ·BCEWithLogits(x, y) (Lin et al. 2017; torchvision's
signature). torch has no built-in: the benchmarks time the torchvision-style composition."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from verify import strategies as vs
from verify.contracts import contract
from verify.contracts.families import binary
from verify.contracts.families import reduction as reductions
from verify.oracles import focal
from verify.oracles.reduction import REDUCTIONS
from verify.stand_ins import torchvision_sigmoid_focal_loss
from verify.strategies import LossCase
from verify.tolerances import logsumexp_condition, loss_scale


@st.composite
def _cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 4)))
    params = reductions.reduction_params(reduction, default="none")
    if "alpha" in features:
        params["alpha"] = draw(st.floats(0.0, 1.0) | st.just(-1.0))
    if "gamma" in features:
        params["gamma"] = draw(st.floats(0.0, 5.0))
    return LossCase(
        draw(vs.logits(shape, min(vs.logit_bound(dtype), 100.0))),
        draw(vs.binary_targets(shape, soft="soft_targets" in features)),
        params,
        draw(vs.cotangents(reductions.output_shape(shape, reduction))),
    )


def _bounds(case: LossCase, logits: np.ndarray) -> contract.Bounds:
    terms = max(logits.size, 1)
    condition = logsumexp_condition(np.stack([np.zeros_like(logits), logits], axis=1))
    bound = focal.sigmoid_focal_loss_gradient_bound(
        logits, case.target, case.cotangent, **case.params
    )
    reduction = case.params.get("reduction", "none")
    return contract.Bounds(
        value={
            "terms": terms,
            "condition": condition,
            "pointwise": True,
            "scale": loss_scale(reduction, logits.size),
        },
        gradient={"terms": terms, "condition": condition, "scale": bound},
    )


def _alpha_swapped(case: LossCase) -> np.ndarray:
    alpha = case.params.get("alpha", 0.25)
    if alpha < 0 or alpha == 0.5:
        return reductions.not_applicable()
    params = reductions.with_params(case.params, alpha=1 - alpha)
    return focal.sigmoid_focal_loss(case.scores, case.target, **params)


def _without_alpha(case: LossCase) -> np.ndarray:
    params = reductions.with_params(case.params, alpha=-1.0)
    return focal.sigmoid_focal_loss(case.scores, case.target, **params)


def _edges() -> list[contract.Edge]:
    return [
        *reductions.empty_batches(np.zeros((2, 3)), np.zeros((2, 3)), default="none"),
        # (1 − p_t)^γ with 0 < γ < 1 has an infinite derivative where p_t rounds to 1; the
        # loss's gradient there is finite (tiny). Computed in probability space it is NaN.
        contract.Edge(
            "saturated logits, γ = 0.5",
            LossCase(np.array([[40.0, -40.0]]), np.array([[1.0, 0.0]]), {"gamma": 0.5}),
            ("gamma",),
        ),
    ]


CONFORMANCE = contract.FeatureMatrix(
    (
        contract.Feature("reduction=mean", "mean over every element", "reduction"),
        contract.Feature("reduction=sum", "summed loss", "reduction"),
        contract.Feature("alpha", "α in [0, 1], or < 0 to disable", "alpha"),
        contract.Feature("gamma", "γ in [0, 5]", "gamma"),
        binary.SOFT_TARGETS_FEATURE,
    ),
    _cases,
    _bounds,
    variants=(
        contract.Variant("α applied to the negative class (α_t swapped)", _alpha_swapped),
        contract.Variant("α ignored (α_t = 1)", _without_alpha),
    ),
    edges=_edges,
    core_reduction="none",
)

CONTRACT = contract.Contract(
    name="sigmoid_focal_loss",
    summary="α_t·(1 − p_t)^γ·BCEWithLogits(x, y) (Lin et al. 2017; torchvision's signature)",
    reference=focal.sigmoid_focal_loss,
    gradient=focal.sigmoid_focal_loss_vjp,
    params=(
        contract.Param("alpha", 0.25, "α_t = α for positives, 1 − α for negatives; < 0 disables"),
        contract.Param("gamma", 2.0, "a float ≥ 0"),
        contract.Param("reduction", "none", "one of 'none', 'mean', 'sum'", REDUCTIONS),
    ),
    input_kinds=("logits and targets in [0, 1] of the same shape",),
    implementations=(),
    without_torch_form="torch has none; torchvision.ops.sigmoid_focal_loss is one to check",
    conformance=CONFORMANCE,
    benchmark_cases=binary.logit_benchmark_cases(
        "sigmoid_focal_loss",
        "alpha=0.25,gamma=2",
        {"alpha": 0.25, "gamma": 2.0, "reduction": "mean"},
    ),
    benchmark_builtin=torchvision_sigmoid_focal_loss,
)
