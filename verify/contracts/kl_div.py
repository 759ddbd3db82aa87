"""kl_div: t·(log t − input) pointwise (exp(s)·(s − input) with ``log_target``)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from verify import oracles
from verify import strategies as vs
from verify.benchmarking import workloads as w
from verify.contracts import contract
from verify.contracts.families import reduction as reductions
from verify.oracles.divergence import KL_REDUCTIONS
from verify.strategies import LossCase
from verify.tolerances import loss_scale


@st.composite
def _cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(2, 5)))
    log_input = oracles.log_softmax(draw(vs.logits(shape, 30.0)), axis=1)
    target = draw(vs.soft_targets(shape))
    params = reductions.reduction_params(reduction)
    if "log_target" in features:
        target = np.log(
            np.clip(target, 1e-6, None) / np.sum(np.clip(target, 1e-6, None), 1, keepdims=True)
        )
        params["log_target"] = True
    return LossCase(
        log_input, target, params, draw(vs.cotangents(reductions.output_shape(shape, reduction)))
    )


def _bounds(case: LossCase, log_input: np.ndarray) -> contract.Bounds:
    terms = max(log_input.size, 1)
    condition = 1.0 + float(np.max(np.abs(log_input), initial=0.0))
    reduction = case.params.get("reduction", "mean")
    scale = loss_scale(reduction if reduction != "batchmean" else "sum", log_input.shape[1])
    return contract.Bounds(
        value={"terms": terms, "condition": condition, "scale": scale},
        gradient={"terms": terms},
    )


def _mean_for_batchmean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction") != "batchmean":
        return reductions.not_applicable()
    return oracles.kl_div(
        case.scores, case.target, **reductions.with_params(case.params, reduction="mean")
    )


def _swapped(case: LossCase) -> np.ndarray:
    if case.params.get("log_target"):
        return reductions.not_applicable()
    with np.errstate(divide="ignore"):
        return oracles.kl_div(np.log(case.target), np.exp(case.scores), **case.params)


CONFORMANCE = contract.FeatureMatrix(
    (
        *reductions.REDUCTION_FEATURES,
        contract.Feature("reduction=batchmean", "sum divided by the batch size", "reduction"),
        contract.Feature("log_target", "target given as log-probabilities", "log_target"),
    ),
    _cases,
    _bounds,
    edges=lambda: reductions.empty_batches(np.full((2, 3), -np.log(3)), np.full((2, 3), 1 / 3)),
    variants=(
        contract.Variant("'batchmean' computed as 'mean' (divides by N·C)", _mean_for_batchmean),
        contract.Variant("input and target swapped (KL(q‖p) instead of KL(p‖q))", _swapped),
    ),
)


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Log-probabilities against probabilities or log-probabilities (``log_target``)."""
    shape = draw(vs.shapes(min_n=1, max_n=4, max_c=5, max_kdims=1, max_side=3))
    log_input = oracles.log_softmax(draw(vs.logits(shape, 10.0)), axis=1)
    target = oracles.softmax(draw(vs.logits(shape, 10.0)), axis=1)
    log_target = draw(st.booleans())
    inputs = (log_input, np.log(target) if log_target else target)
    return contract.FormCase(inputs, {"log_target": log_target}, shape)


CONTRACT = contract.torch_contract(
    "kl_div",
    nn.KLDivLoss,
    summary="t·(log t − input) pointwise (exp(s)·(s − input) with log_target)",
    params=(
        contract.Param(
            "reduction", "mean", "one of 'none', 'mean', 'sum', 'batchmean'", KL_REDUCTIONS
        ),
        contract.Param("log_target", False, "bool", (False, True)),
    ),
    input_kinds=("log-probabilities and probabilities, any shape",),
    conformance=CONFORMANCE,
    form_cases=form_cases,
    benchmark_cases=w.cases(
        "kl_div",
        (w.IMAGE, w.LM_32K),
        w.log_probabilities_and_probabilities,
        "reduction=batchmean",
        {"reduction": "batchmean"},
    ),
)
