"""binary_cross_entropy_with_logits: −w·(pw·y·log σ(x) + (1−y)·log σ(−x))."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from scipy import special
from torch import nn

from verify import oracles
from verify import strategies as vs
from verify.benchmarking import workloads as w
from verify.contracts import contract
from verify.contracts.families import binary
from verify.contracts.families import reduction as reductions
from verify.oracles.reduction import reduce
from verify.strategies import LossCase


def _pos_weight_on_negatives(case: LossCase) -> np.ndarray:
    if "pos_weight" not in case.params:
        return reductions.not_applicable()
    x, y, pw = case.scores, case.target, case.params["pos_weight"]
    per = -(y * special.log_expit(x) + pw * (1 - y) * special.log_expit(-x))
    per = per * case.params.get("weight", 1.0)
    return reduce(per, case.params.get("reduction", "mean"))


def _expects_probabilities(case: LossCase) -> np.ndarray:
    params = {k: v for k, v in case.params.items() if k != "pos_weight"}
    return oracles.binary_cross_entropy(np.clip(case.scores, 0, 1), case.target, **params)


CONFORMANCE = contract.FeatureMatrix(
    (
        *reductions.REDUCTION_FEATURES,
        binary.ELEMENT_WEIGHT_FEATURE,
        contract.Feature("pos_weight", "positive-class weight per class", "pos_weight"),
        binary.SOFT_TARGETS_FEATURE,
    ),
    lambda dtype, features, reduction: binary.binary_cases(dtype, features, reduction, True),
    lambda case, inputs: binary.binary_bounds(case, inputs, True),
    edges=lambda: reductions.empty_batches(np.zeros((2, 3)), np.zeros((2, 3))),
    variants=(
        contract.Variant("pos_weight applied to the negative term", _pos_weight_on_negatives),
        contract.Variant("expects probabilities, not logits", _expects_probabilities),
    ),
)


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Logits of any binary shape, hard or soft targets, an optional broadcast weight, and an
    optional pos_weight along the last axis."""
    case = draw(binary.binary_form_cases(dtype, logits=True))
    params = dict(case.params)
    scores = case.inputs[0]
    if scores.ndim and draw(st.booleans()):
        params["pos_weight"] = draw(vs.class_weights(scores.shape[-1]))
    return contract.FormCase(case.inputs, params, case.output_shape)


CONTRACT = contract.torch_contract(
    "binary_cross_entropy_with_logits",
    nn.BCEWithLogitsLoss,
    summary="−w·(pw·y·log σ(x) + (1−y)·log σ(−x))",
    params=(
        binary.ELEMENT_WEIGHT,
        contract.Param(
            "pos_weight", None, "None or a positive tensor broadcast along the last axis"
        ),
        reductions.REDUCTION,
    ),
    input_kinds=("logits, any shape",),
    conformance=CONFORMANCE,
    form_cases=form_cases,
    benchmark_cases=binary.logit_benchmark_cases(
        "binary_cross_entropy_with_logits",
        "pos_weight",
        param_factory=lambda shape, dtype: {"pos_weight": w.pos_weight(shape, dtype)},
    ),
)
