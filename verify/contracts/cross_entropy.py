"""cross_entropy: −Σ_c A_c log softmax(x)_c per position, A the (smoothed) target distribution."""

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
    bound = oracles.cross_entropy_gradient_bound(scores, case.target, case.cotangent, **case.params)
    return categorical.categorical_bounds(case, scores, bound)


def _summed(case: LossCase) -> np.ndarray:
    return oracles.cross_entropy(
        case.scores, case.target, **reductions.with_params(case.params, reduction="sum")
    )


def _sum_for_mean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean":
        return reductions.not_applicable()
    return _summed(case)


def _mean_over_count(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean" or case.target.dtype.kind != "i":
        return reductions.not_applicable()
    total = _summed(case)
    kept = np.sum(case.target != case.params.get("ignore_index", -100))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / kept


def _smoothing_over_others(case: LossCase) -> np.ndarray:
    eps = case.params.get("label_smoothing", 0.0)
    if eps == 0.0 or case.target.dtype.kind != "i" or "ignore_index" in case.params:
        return reductions.not_applicable()
    n_classes = case.scores.shape[1]
    one_hot = np.moveaxis(np.eye(n_classes)[case.target], -1, 1)
    soft = (1 - eps) * one_hot + eps / (n_classes - 1) * (1 - one_hot)
    params = {k: v for k, v in case.params.items() if k not in ("label_smoothing", "weight")}
    if "weight" in case.params:
        return reductions.not_applicable()
    return oracles.cross_entropy(case.scores, soft, **params)


def _expects_probabilities(case: LossCase) -> np.ndarray:
    if case.target.dtype.kind != "i":
        return reductions.not_applicable()
    with np.errstate(invalid="ignore", divide="ignore"):
        log_input = np.log(case.scores)
    params = {k: v for k, v in case.params.items() if k != "label_smoothing"}
    return oracles.nll_loss(log_input, case.target, **params)


def _ignored_counted(case: LossCase) -> np.ndarray:
    ignore = case.params.get("ignore_index")
    if ignore is None or case.params.get("reduction", "mean") != "mean":
        return reductions.not_applicable()
    weight = case.params.get("weight")
    safe = np.where(case.target == ignore, 0, case.target)
    count = np.sum(weight[safe]) if weight is not None else case.target.size
    return _summed(case) / count


CONFORMANCE = contract.FeatureMatrix(
    (
        *reductions.REDUCTION_FEATURES,
        categorical.WEIGHT_FEATURE,
        categorical.IGNORE_INDEX_FEATURE,
        contract.Feature("label_smoothing", "label smoothing ε in [0, 1]", "label_smoothing"),
        contract.k_dim_feature("K-dimensional scores (N, C, d1, ..., dk)"),
        contract.PROBABILITY_TARGETS_FEATURE,
    ),
    lambda dtype, features, reduction: categorical.categorical_cases(
        dtype, features, reduction, False
    ),
    _bounds,
    variants=(
        contract.Variant("sum instead of mean", _sum_for_mean),
        contract.Variant(
            "mean over the number of targets instead of their summed weight", _mean_over_count
        ),
        contract.Variant("ignored targets counted in the mean's denominator", _ignored_counted),
        contract.Variant(
            "label smoothing spread over the C−1 other classes", _smoothing_over_others
        ),
        contract.Variant(
            "expects probabilities, not logits (takes log of the input)", _expects_probabilities
        ),
    ),
    edges=lambda: categorical.categorical_edges(False),
)


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Class indices or probability targets, K ≤ 1 extra dims, weight, ignore_index and
    label_smoothing (0 included)."""
    case = draw(vs.classification_cases(dtype, max_kdims=1))
    params = {k: v for k, v in case.params.items() if k != "reduction"}
    params["label_smoothing"] = draw(st.just(0.0) | st.floats(0.0, 1.0))
    target = case.target
    if draw(st.booleans()):  # probability targets (ignore_index applies to indices only)
        target = draw(vs.soft_targets(case.scores.shape))
        params.pop("ignore_index", None)
    return contract.FormCase((case.scores, target), params, categorical.positions(case.scores))


def _benchmark_cases() -> tuple[w.Case, ...]:
    plain, smoothing = w.scores_and_classes(), {"label_smoothing": 0.1}
    workloads = (w.IMAGE, w.SEGMENTATION, w.LM_32K, w.LM_128K)
    cases = [w.Case("cross_entropy", workload, plain) for workload in workloads]
    cases += [
        w.Case("cross_entropy", workload, plain, "label_smoothing=0.1", smoothing)
        for workload in (w.IMAGE, w.LM_32K, w.LM_128K)
    ]
    cases += [
        w.Case("cross_entropy", w.SEGMENTATION, w.scores_and_classes(255), "ignore_index=255",
             {"ignore_index": 255}),
        w.Case("cross_entropy", w.LM_32K, w.scores_and_classes(-100), "ignore_index=-100",
             {"ignore_index": -100}),
    ]  # fmt: skip
    return tuple(cases)


CONTRACT = contract.torch_contract(
    "cross_entropy",
    nn.CrossEntropyLoss,
    summary="−Σ_c A_c log softmax(x)_c per position (see verify.oracles.categorical)",
    params=(
        categorical.CLASS_WEIGHT,
        categorical.IGNORE_INDEX,
        reductions.REDUCTION,
        contract.Param("label_smoothing", 0.0, "a float in [0, 1]"),
    ),
    input_kinds=(
        "class indices (N,)",
        "class indices (N, d1..dk)",
        "probabilities (N, C, d1..dk)",
    ),
    conformance=CONFORMANCE,
    form_cases=form_cases,
    benchmark_cases=_benchmark_cases(),
)
