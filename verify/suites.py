"""Conformance suites: for each contract, its optional features, inputs, bounds and variants.

A contract's *core* case is its basic input kind with default parameters. Everything else is
an optional *feature*: a parameter (``weight``, ``ignore_index``, ``label_smoothing``,
``pos_weight``, ``log_target``, a non-default ``reduction``) or an input kind (K-dimensional
scores, probability targets, soft binary targets). A suite says how to draw cases for any set
of features, how to bound the error of a result (``verify.tolerances`` arguments), and which
known convention *variants* an implementation that deviates may be following (diagnosis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import oracles
from verify import strategies as vs
from verify.oracles import focal, regression
from verify.strategies import LossCase
from verify.tolerances import logsumexp_condition, loss_scale


@dataclass(frozen=True)
class Feature:
    """An optional feature: a keyword parameter or an input kind."""

    name: str
    description: str
    param: str | None = None  # the keyword whose absence means "unsupported"


@dataclass(frozen=True)
class Bounds:
    """Arguments for ``verify.tolerances.assert_close`` for a case's value and gradient."""

    value: dict[str, Any]
    gradient: dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """A known convention that differs from the contract: its value on a case (float64)."""

    description: str
    value: Callable[[LossCase], np.ndarray]


@dataclass(frozen=True)
class Edge:
    """A fixed edge case: its name, inputs, and the optional features it needs."""

    name: str
    case: LossCase
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    contract: str
    features: tuple[Feature, ...]
    cases: Callable[[torch.dtype, frozenset[str], str], st.SearchStrategy[LossCase]]
    bounds: Callable[[LossCase, np.ndarray], Bounds]
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    edges: Callable[[], list[Edge]] = lambda: []
    # Inputs for finite differences, when the core cases can sit too close to a kink or edge.
    gradcheck_cases: Callable[[torch.dtype], st.SearchStrategy[LossCase]] | None = None
    core_reduction: str = "mean"  # the contract's default reduction: the core case uses it

    def smooth_cases(self, dtype: torch.dtype) -> st.SearchStrategy[LossCase]:
        if self.gradcheck_cases is not None:
            return self.gradcheck_cases(dtype)
        return self.cases(dtype, frozenset(), self.core_reduction)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


REDUCTION_FEATURES = (
    Feature("reduction=none", "unreduced per-position loss", "reduction"),
    Feature("reduction=sum", "summed loss", "reduction"),
)


def _reduction_params(reduction: str, default: str = "mean") -> dict[str, Any]:
    """The ``reduction`` keyword, passed only when it is not the contract's default: an
    implementation that declines the keyword still runs its core case."""
    return {} if reduction == default else {"reduction": reduction}


def _empty_batches(
    inputs: np.ndarray, target: np.ndarray | None, default: str = "mean", **params: Any
) -> list[Edge]:
    """A batch of size 0 under the default reduction and each other one ('mean' is 0/0 = NaN,
    'sum' is 0, 'none' is empty)."""
    edges = []
    for reduction in ("mean", "sum", "none"):
        case = LossCase(
            inputs[:0],
            None if target is None else target[:0],
            {**params, **_reduction_params(reduction, default)},
        )
        name = "empty_batch" if reduction == default else f"empty_batch, {reduction}"
        features = () if reduction == default else (f"reduction={reduction}",)
        edges.append(Edge(name, case, features))
    return edges


def _output_shape(positions: tuple[int, ...], reduction: str) -> tuple[int, ...]:
    return positions if reduction == "none" else ()


# --- cross_entropy and nll_loss ---------------------------------------------------------------


@st.composite
def _categorical_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str, log_probs: bool
) -> LossCase:
    kdims = 2 if "k_dim" in features else 0
    shape = draw(vs.shapes(min_n=1, max_n=5, min_c=2, max_c=5, max_kdims=kdims))
    if kdims and len(shape) == 2:
        shape = (*shape, 2)
    n_classes, positions = shape[1], (shape[0], *shape[2:])
    params = _reduction_params(reduction)
    if "probability_targets" in features:
        target = draw(vs.soft_targets(shape))
    else:
        ignore = draw(vs.ignore_indices(n_classes)) if "ignore_index" in features else None
        target = draw(vs.class_targets(positions, n_classes, ignore))
        if ignore is not None:
            params["ignore_index"] = ignore
    if "weight" in features:
        params["weight"] = draw(vs.class_weights(n_classes))
    if "label_smoothing" in features:
        params["label_smoothing"] = draw(st.floats(0.0, 1.0))
    scores = draw(vs.logits(shape, vs.logit_bound(dtype)))
    if log_probs:
        scores = oracles.log_softmax(scores, axis=1)
    return LossCase(
        scores, target, params, draw(vs.cotangents(_output_shape(positions, reduction)))
    )


def _categorical_bounds(case: LossCase, scores: np.ndarray, gradient_bound: float) -> Bounds:
    reduction = case.params.get("reduction", "mean")
    positions = scores.size // scores.shape[1]
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    scale = loss_scale(reduction, positions, case.params.get("weight"))
    return Bounds(
        value={"terms": terms, "condition": condition, "scale": scale},
        gradient={"terms": terms, "condition": condition, "scale": gradient_bound},
    )


def _cross_entropy_bounds(case: LossCase, scores: np.ndarray) -> Bounds:
    bound = oracles.cross_entropy_gradient_bound(scores, case.target, case.cotangent, **case.params)
    return _categorical_bounds(case, scores, bound)


def _nll_bounds(case: LossCase, scores: np.ndarray) -> Bounds:
    return _categorical_bounds(case, scores, None)


def _with(params: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**params, **changes}


def _ce_sum_for_mean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean":
        return np.full((), np.nan)
    return oracles.cross_entropy(case.scores, case.target, **_with(case.params, reduction="sum"))


def _ce_mean_over_count(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean" or case.target.dtype.kind != "i":
        return np.full((), np.nan)
    total = oracles.cross_entropy(case.scores, case.target, **_with(case.params, reduction="sum"))
    kept = np.sum(case.target != case.params.get("ignore_index", -100))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / kept


def _ce_smoothing_over_others(case: LossCase) -> np.ndarray:
    eps = case.params.get("label_smoothing", 0.0)
    if eps == 0.0 or case.target.dtype.kind != "i" or "ignore_index" in case.params:
        return np.full((), np.nan)
    n_classes = case.scores.shape[1]
    one_hot = np.moveaxis(np.eye(n_classes)[case.target], -1, 1)
    soft = (1 - eps) * one_hot + eps / (n_classes - 1) * (1 - one_hot)
    params = {k: v for k, v in case.params.items() if k not in ("label_smoothing", "weight")}
    if "weight" in case.params:
        return np.full((), np.nan)
    return oracles.cross_entropy(case.scores, soft, **params)


def _ce_expects_probabilities(case: LossCase) -> np.ndarray:
    if case.target.dtype.kind != "i":
        return np.full((), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_input = np.log(case.scores)
    params = {k: v for k, v in case.params.items() if k != "label_smoothing"}
    return oracles.nll_loss(log_input, case.target, **params)


def _ce_ignored_counted(case: LossCase) -> np.ndarray:
    ignore = case.params.get("ignore_index")
    if ignore is None or case.params.get("reduction", "mean") != "mean":
        return np.full((), np.nan)
    total = oracles.cross_entropy(case.scores, case.target, **_with(case.params, reduction="sum"))
    weight = case.params.get("weight")
    safe = np.where(case.target == ignore, 0, case.target)
    count = np.sum(weight[safe]) if weight is not None else case.target.size
    return total / count


def _categorical_edges(log_probs: bool) -> list[Edge]:
    """Every target ignored ('mean' is 0/0 = NaN, 'sum' is 0, no gradient) and an empty batch."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(3, 4))
    if log_probs:
        scores = oracles.log_softmax(scores, axis=1)
    ignored = np.full(3, -100)
    return [
        Edge(
            "all_ignored, mean",
            LossCase(scores, ignored, {"ignore_index": -100}),
            ("ignore_index",),
        ),
        Edge(
            "all_ignored, sum",
            LossCase(scores, ignored, {"ignore_index": -100, "reduction": "sum"}),
            ("ignore_index", "reduction=sum"),
        ),
        *_empty_batches(scores, ignored),
    ]


CROSS_ENTROPY = Suite(
    "cross_entropy",
    (
        *REDUCTION_FEATURES,
        Feature("weight", "class weights (C,)", "weight"),
        Feature("ignore_index", "targets equal to ignore_index are ignored", "ignore_index"),
        Feature("label_smoothing", "label smoothing ε in [0, 1]", "label_smoothing"),
        Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk)"),
        Feature("probability_targets", "class-probability targets, same shape as the scores"),
    ),
    lambda dtype, features, reduction: _categorical_cases(dtype, features, reduction, False),
    _cross_entropy_bounds,
    variants=(
        Variant("sum instead of mean", _ce_sum_for_mean),
        Variant(
            "mean over the number of targets instead of their summed weight", _ce_mean_over_count
        ),
        Variant("ignored targets counted in the mean's denominator", _ce_ignored_counted),
        Variant("label smoothing spread over the C−1 other classes", _ce_smoothing_over_others),
        Variant(
            "expects probabilities, not logits (takes log of the input)", _ce_expects_probabilities
        ),
    ),
    edges=lambda: _categorical_edges(False),
)


def _nll_sum_for_mean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction", "mean") != "mean":
        return np.full((), np.nan)
    return oracles.nll_loss(case.scores, case.target, **_with(case.params, reduction="sum"))


NLL_LOSS = Suite(
    "nll_loss",
    (
        *REDUCTION_FEATURES,
        Feature("weight", "class weights (C,)", "weight"),
        Feature("ignore_index", "targets equal to ignore_index are ignored", "ignore_index"),
        Feature("k_dim", "K-dimensional input (N, C, d1, ..., dk)"),
    ),
    lambda dtype, features, reduction: _categorical_cases(dtype, features, reduction, True),
    _nll_bounds,
    variants=(Variant("sum instead of mean", _nll_sum_for_mean),),
    edges=lambda: _categorical_edges(True),
)

# --- binary losses ----------------------------------------------------------------------------


# BCELoss's backward divides by max(p·(1 − p), 1e-12): its gradient is the derivative of the
# loss only where p·(1 − p) ≥ 1e-12 (see specs/test_binary_cross_entropy.py, BCE-7).
BCE_GRADIENT_MARGIN = 2e-12


@st.composite
def _binary_cases(
    draw: st.DrawFn,
    dtype: torch.dtype,
    features: frozenset[str],
    reduction: str,
    logits: bool,
    margin: float = BCE_GRADIENT_MARGIN,
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 4)))
    inputs = (
        draw(vs.logits(shape, vs.logit_bound(dtype)))
        if logits
        else draw(vs.probabilities(shape, dtype, margin=margin))
    )
    target = draw(vs.binary_targets(shape, soft="soft_targets" in features))
    params = _reduction_params(reduction)
    if "weight" in features:
        params["weight"] = draw(vs.class_weights(shape[1]))
    if "pos_weight" in features:
        params["pos_weight"] = draw(vs.class_weights(shape[1]))
    return LossCase(inputs, target, params, draw(vs.cotangents(_output_shape(shape, reduction))))


def _binary_bounds(case: LossCase, inputs: np.ndarray, logits: bool) -> Bounds:
    reduction = case.params.get("reduction", "mean")
    largest = max(float(np.max(case.params.get(k, np.ones(1)))) for k in ("weight", "pos_weight"))
    terms = max(inputs.size, 1)
    if logits:
        condition = logsumexp_condition(np.stack([np.zeros_like(inputs), inputs], axis=1))
        gradient_bound = oracles.binary_cross_entropy_with_logits_gradient_bound(
            inputs, case.target, case.cotangent, **case.params
        )
        return Bounds(
            value={
                "terms": terms,
                "condition": condition,
                "pointwise": True,
                "scale": largest * loss_scale(reduction, inputs.size),
            },
            gradient={"terms": terms, "condition": condition, "scale": gradient_bound},
        )
    return Bounds(value={"terms": terms}, gradient={"terms": terms})


def _bce_clamped(eps: float) -> Callable[[LossCase], np.ndarray]:
    def value(case: LossCase) -> np.ndarray:
        clipped = np.clip(case.scores, eps, 1 - eps)
        return oracles.binary_cross_entropy(clipped, case.target, **case.params)

    return value


def _bce_logits_pos_weight_on_negatives(case: LossCase) -> np.ndarray:
    if "pos_weight" not in case.params:
        return np.full((), np.nan)
    x, y, pw = case.scores, case.target, case.params["pos_weight"]
    per = -(
        y * oracles.binary.special.log_expit(x)
        + pw * (1 - y) * oracles.binary.special.log_expit(-x)
    )
    per = per * case.params.get("weight", 1.0)
    return oracles.reduction.reduce(per, case.params.get("reduction", "mean"))


def _bce_logits_expects_probabilities(case: LossCase) -> np.ndarray:
    params = {k: v for k, v in case.params.items() if k != "pos_weight"}
    return oracles.binary_cross_entropy(np.clip(case.scores, 0, 1), case.target, **params)


BINARY_CROSS_ENTROPY_WITH_LOGITS = Suite(
    "binary_cross_entropy_with_logits",
    (
        *REDUCTION_FEATURES,
        Feature("weight", "per-element weight, broadcast", "weight"),
        Feature("pos_weight", "positive-class weight per class", "pos_weight"),
        Feature("soft_targets", "targets anywhere in [0, 1]"),
    ),
    lambda dtype, features, reduction: _binary_cases(dtype, features, reduction, True),
    lambda case, inputs: _binary_bounds(case, inputs, True),
    edges=lambda: _empty_batches(np.zeros((2, 3)), np.zeros((2, 3))),
    variants=(
        Variant("pos_weight applied to the negative term", _bce_logits_pos_weight_on_negatives),
        Variant("expects probabilities, not logits", _bce_logits_expects_probabilities),
    ),
)

BINARY_CROSS_ENTROPY = Suite(
    "binary_cross_entropy",
    (
        *REDUCTION_FEATURES,
        Feature("weight", "per-element weight, broadcast", "weight"),
        Feature("soft_targets", "targets anywhere in [0, 1]"),
    ),
    lambda dtype, features, reduction: _binary_cases(dtype, features, reduction, False),
    lambda case, inputs: _binary_bounds(case, inputs, False),
    edges=lambda: _empty_batches(np.full((2, 3), 0.5), np.zeros((2, 3))),
    # Finite differences step 1e-6 either side: keep p well inside (0, 1).
    gradcheck_cases=lambda dtype: _binary_cases(dtype, frozenset(), "mean", False, 1e-2),
    variants=tuple(
        Variant(f"probabilities clamped to [eps, 1−eps] with eps ≈ {eps:g}", _bce_clamped(eps))
        for eps in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-12)
    ),
)

# --- kl_div -----------------------------------------------------------------------------------


@st.composite
def _kl_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(2, 5)))
    log_input = oracles.log_softmax(draw(vs.logits(shape, 30.0)), axis=1)
    target = draw(vs.soft_targets(shape))
    params = _reduction_params(reduction)
    if "log_target" in features:
        target = np.log(
            np.clip(target, 1e-6, None) / np.sum(np.clip(target, 1e-6, None), 1, keepdims=True)
        )
        params["log_target"] = True
    return LossCase(log_input, target, params, draw(vs.cotangents(_output_shape(shape, reduction))))


def _kl_bounds(case: LossCase, log_input: np.ndarray) -> Bounds:
    terms = max(log_input.size, 1)
    condition = 1.0 + float(np.max(np.abs(log_input), initial=0.0))
    reduction = case.params.get("reduction", "mean")
    scale = loss_scale(reduction if reduction != "batchmean" else "sum", log_input.shape[1])
    return Bounds(
        value={"terms": terms, "condition": condition, "scale": scale},
        gradient={"terms": terms},
    )


def _kl_mean_for_batchmean(case: LossCase) -> np.ndarray:
    if case.params.get("reduction") != "batchmean":
        return np.full((), np.nan)
    return oracles.kl_div(case.scores, case.target, **_with(case.params, reduction="mean"))


def _kl_swapped(case: LossCase) -> np.ndarray:
    if case.params.get("log_target"):
        return np.full((), np.nan)
    with np.errstate(divide="ignore"):
        return oracles.kl_div(np.log(case.target), np.exp(case.scores), **case.params)


KL_DIV = Suite(
    "kl_div",
    (
        *REDUCTION_FEATURES,
        Feature("reduction=batchmean", "sum divided by the batch size", "reduction"),
        Feature("log_target", "target given as log-probabilities", "log_target"),
    ),
    _kl_cases,
    _kl_bounds,
    edges=lambda: _empty_batches(np.full((2, 3), -np.log(3)), np.full((2, 3), 1 / 3)),
    variants=(
        Variant("'batchmean' computed as 'mean' (divides by N·C)", _kl_mean_for_batchmean),
        Variant("input and target swapped (KL(q‖p) instead of KL(p‖q))", _kl_swapped),
    ),
)

# --- regression losses ------------------------------------------------------------------------


@st.composite
def _regression_cases(
    draw: st.DrawFn,
    dtype: torch.dtype,
    features: frozenset[str],
    reduction: str,
    param: str | None,
    away_from_kinks: bool = False,
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 4)))
    bound = vs.logit_bound(dtype)
    target = draw(vs.logits(shape, bound))
    if away_from_kinks:  # |d| in [0.05, 0.8] or [1.25, 20]: clear of 0 and of β = δ = 1
        size = st.floats(0.05, 0.8) | st.floats(1.25, 20.0)
        magnitude = draw(hnp.arrays(np.float64, shape, elements=size))
        signs = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
        inputs = target + signs * magnitude
    else:
        inputs = draw(vs.logits(shape, bound))
    params = _reduction_params(reduction)
    if param is not None and param in features:
        params[param] = float(10.0 ** draw(st.floats(-3.0, 1.0)))
    return LossCase(inputs, target, params, draw(vs.cotangents(_output_shape(shape, reduction))))


def _regression_bounds(case: LossCase, inputs: np.ndarray, power: int, param: str | None) -> Bounds:
    """d = x − y cancels at the size of the inputs: errors scale with max(|x|, |y|)."""
    reduction = case.params.get("reduction", "mean")
    magnitude = max(
        float(np.max(np.abs(inputs), initial=0.0)),
        float(np.max(np.abs(case.target), initial=0.0)),
        1.0,
    )
    width = case.params.get(param, 1.0) if param else 1.0
    cotangent = float(np.max(np.abs(case.cotangent), initial=0.0))
    per_cotangent = 1.0 / max(inputs.size, 1) if reduction == "mean" else 1.0
    if power == 2:
        value_scale, slope_scale = magnitude**2, 2.0 * magnitude
    elif param == "beta":  # SmoothL1: slope d/β inside |d| < β
        value_scale, slope_scale = magnitude, max(1.0, magnitude / width) if width else 1.0
    elif param == "delta":  # Huber: slope d inside |d| < δ, δ·sign(d) outside
        value_scale, slope_scale = magnitude * max(1.0, width), max(width, magnitude)
    else:
        value_scale, slope_scale = magnitude, 1.0
    terms = max(inputs.size, 1)
    return Bounds(
        value={"terms": terms, "scale": loss_scale(reduction, inputs.size) * value_scale},
        gradient={"terms": terms, "scale": cotangent * per_cotangent * slope_scale},
    )


def _regression_variants(
    oracle: Callable[..., np.ndarray], param: str | None
) -> tuple[Variant, ...]:
    def sum_for_mean(case: LossCase) -> np.ndarray:
        if case.params.get("reduction", "mean") != "mean":
            return np.full((), np.nan)
        return oracle(case.scores, case.target, **_with(case.params, reduction="sum"))

    def mean_over_batch(case: LossCase) -> np.ndarray:
        if case.params.get("reduction", "mean") != "mean" or case.scores.ndim < 2:
            return np.full((), np.nan)
        total = oracle(case.scores, case.target, **_with(case.params, reduction="sum"))
        return total / case.scores.shape[0]

    variants = [
        Variant("sum instead of mean", sum_for_mean),
        Variant("mean over the batch size N instead of every element", mean_over_batch),
    ]
    if param == "beta":

        def without_inverse_beta(case: LossCase) -> np.ndarray:
            beta = case.params.get("beta", 1.0)
            d = case.scores - case.target
            per = np.where(np.abs(d) < beta, 0.5 * d * d, np.abs(d) - 0.5 * beta)
            return oracles.reduction.reduce(per, case.params.get("reduction", "mean"))

        variants.append(Variant("0.5·d² inside |d| < β, without the 1/β", without_inverse_beta))
    if param == "delta":

        def without_delta(case: LossCase) -> np.ndarray:
            params = {k: v for k, v in case.params.items() if k != "delta"}
            return regression.smooth_l1_loss(
                case.scores, case.target, beta=case.params.get("delta", 1.0), **params
            )

        variants.append(Variant("SmoothL1(β = δ): Huber without the δ factor", without_delta))
    return tuple(variants)


def _regression_suite(
    contract: str, oracle: Callable[..., np.ndarray], power: int, param: str | None = None
) -> Suite:
    features = [*REDUCTION_FEATURES]
    if param:
        features.append(Feature(param, f"{param} over 1e-3 … 10", param))
    return Suite(
        contract,
        tuple(features),
        lambda dtype, feats, reduction: _regression_cases(dtype, feats, reduction, param),
        lambda case, inputs: _regression_bounds(case, inputs, power, param),
        variants=_regression_variants(oracle, param),
        edges=lambda: _empty_batches(np.zeros((2, 3)), np.zeros((2, 3))),
        gradcheck_cases=lambda dtype: _regression_cases(dtype, frozenset(), "mean", None, True),
    )


MSE_LOSS = _regression_suite("mse_loss", regression.mse_loss, 2)
L1_LOSS = _regression_suite("l1_loss", regression.l1_loss, 1)
SMOOTH_L1_LOSS = _regression_suite("smooth_l1_loss", regression.smooth_l1_loss, 1, "beta")
HUBER_LOSS = _regression_suite("huber_loss", regression.huber_loss, 1, "delta")

# --- focal losses -----------------------------------------------------------------------------


@st.composite
def _sigmoid_focal_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 4)))
    params = _reduction_params(reduction, default="none")
    if "alpha" in features:
        params["alpha"] = draw(st.floats(0.0, 1.0) | st.just(-1.0))
    if "gamma" in features:
        params["gamma"] = draw(st.floats(0.0, 5.0))
    return LossCase(
        draw(vs.logits(shape, min(vs.logit_bound(dtype), 100.0))),
        draw(vs.binary_targets(shape, soft="soft_targets" in features)),
        params,
        draw(vs.cotangents(_output_shape(shape, reduction))),
    )


def _sigmoid_focal_bounds(case: LossCase, logits: np.ndarray) -> Bounds:
    terms = max(logits.size, 1)
    condition = logsumexp_condition(np.stack([np.zeros_like(logits), logits], axis=1))
    bound = focal.sigmoid_focal_loss_gradient_bound(
        logits, case.target, case.cotangent, **case.params
    )
    reduction = case.params.get("reduction", "none")
    return Bounds(
        value={
            "terms": terms,
            "condition": condition,
            "pointwise": True,
            "scale": loss_scale(reduction, logits.size),
        },
        gradient={"terms": terms, "condition": condition, "scale": bound},
    )


def _focal_alpha_swapped(case: LossCase) -> np.ndarray:
    alpha = case.params.get("alpha", 0.25)
    if alpha < 0 or alpha == 0.5:
        return np.full((), np.nan)
    return focal.sigmoid_focal_loss(case.scores, case.target, **_with(case.params, alpha=1 - alpha))


def _focal_without_alpha(case: LossCase) -> np.ndarray:
    return focal.sigmoid_focal_loss(case.scores, case.target, **_with(case.params, alpha=-1.0))


SIGMOID_FOCAL_LOSS = Suite(
    "sigmoid_focal_loss",
    (
        Feature("reduction=mean", "mean over every element", "reduction"),
        Feature("reduction=sum", "summed loss", "reduction"),
        Feature("alpha", "α in [0, 1], or < 0 to disable", "alpha"),
        Feature("gamma", "γ in [0, 5]", "gamma"),
        Feature("soft_targets", "targets anywhere in [0, 1]"),
    ),
    _sigmoid_focal_cases,
    _sigmoid_focal_bounds,
    variants=(
        Variant("α applied to the negative class (α_t swapped)", _focal_alpha_swapped),
        Variant("α ignored (α_t = 1)", _focal_without_alpha),
    ),
    edges=lambda: [
        *_empty_batches(np.zeros((2, 3)), np.zeros((2, 3)), default="none"),
        # (1 − p_t)^γ with 0 < γ < 1 has an infinite derivative where p_t rounds to 1; the
        # loss's gradient there is finite (tiny). Computed in probability space it is NaN.
        Edge(
            "saturated logits, γ = 0.5",
            LossCase(np.array([[40.0, -40.0]]), np.array([[1.0, 0.0]]), {"gamma": 0.5}),
            ("gamma",),
        ),
    ],
    core_reduction="none",
)


@st.composite
def _softmax_focal_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    case = draw(_categorical_cases(dtype, features & {"ignore_index", "k_dim"}, reduction, False))
    params = dict(case.params)
    if "gamma" in features:
        params["gamma"] = draw(st.floats(0.0, 5.0))
    if "alpha" in features:
        params["alpha"] = draw(vs.class_weights(case.scores.shape[1]))
    return LossCase(case.scores, case.target, params, case.cotangent)


def _softmax_focal_bounds(case: LossCase, scores: np.ndarray) -> Bounds:
    params = {("weight" if k == "alpha" else k): v for k, v in case.params.items()}
    bound = focal.softmax_focal_loss_gradient_bound(scores, case.target, case.cotangent, **params)
    return _categorical_bounds(
        LossCase(case.scores, case.target, params, case.cotangent), scores, bound
    )


SOFTMAX_FOCAL_LOSS = Suite(
    "softmax_focal_loss",
    (
        *REDUCTION_FEATURES,
        Feature("gamma", "γ in [0, 5]", "gamma"),
        Feature("alpha", "per-class α (C,)", "alpha"),
        Feature("ignore_index", "targets equal to ignore_index are ignored", "ignore_index"),
        Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk)"),
    ),
    _softmax_focal_cases,
    _softmax_focal_bounds,
    edges=lambda: [
        *_categorical_edges(False),
        # As for the sigmoid form: 0 < γ < 1 at a saturated softmax (p_y = 1 to working
        # precision, and a confident wrong prediction through the other class).
        Edge(
            "saturated softmax, γ = 0.5",
            LossCase(np.array([[0.0, 50.0], [50.0, 0.0]]), np.array([1, 1]), {"gamma": 0.5}),
            ("gamma",),
        ),
    ],
)

# --- softmax and log_softmax (one input, no target) ----------------------------------------


@st.composite
def _normalization_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str
) -> LossCase:
    kdims = 2 if "k_dim" in features else 0
    shape = draw(vs.shapes(min_n=1, max_n=5, min_c=1, max_c=6, max_kdims=kdims))
    if kdims and len(shape) == 2:
        shape = (*shape, 2)
    scores = draw(vs.logits(shape, vs.logit_bound(dtype)))
    return LossCase(scores, None, {"dim": 1}, draw(vs.cotangents(shape)))


def _normalization_bounds(case: LossCase, scores: np.ndarray, log: bool) -> Bounds:
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


def _along_batch(oracle: Callable[..., np.ndarray]) -> Callable[[LossCase], np.ndarray]:
    def value(case: LossCase) -> np.ndarray:
        return oracle(case.scores, axis=0) if case.scores.shape[0] > 1 else np.full((), np.nan)

    return value


def _normalization_edges() -> list[Edge]:
    empty = np.zeros((0, 3))
    return [Edge("empty_batch", LossCase(empty, None, {"dim": 1}, empty))]


SOFTMAX = Suite(
    "softmax",
    (Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk), softmax over dim 1"),),
    _normalization_cases,
    lambda case, scores: _normalization_bounds(case, scores, log=False),
    edges=_normalization_edges,
    variants=(
        Variant("softmax over dim 0 (the batch) instead of dim 1", _along_batch(oracles.softmax)),
    ),
)

LOG_SOFTMAX = Suite(
    "log_softmax",
    (Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk), over dim 1"),),
    _normalization_cases,
    lambda case, scores: _normalization_bounds(case, scores, log=True),
    edges=_normalization_edges,
    variants=(
        Variant(
            "log_softmax over dim 0 (the batch) instead of dim 1", _along_batch(oracles.log_softmax)
        ),
    ),
)

SUITES: dict[str, Suite] = {
    s.contract: s
    for s in (
        CROSS_ENTROPY,
        NLL_LOSS,
        BINARY_CROSS_ENTROPY_WITH_LOGITS,
        BINARY_CROSS_ENTROPY,
        KL_DIV,
        SOFTMAX,
        LOG_SOFTMAX,
        MSE_LOSS,
        L1_LOSS,
        SMOOTH_L1_LOSS,
        HUBER_LOSS,
        SIGMOID_FOCAL_LOSS,
        SOFTMAX_FOCAL_LOSS,
    )
}
