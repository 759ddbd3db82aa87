"""Elementwise regression losses (input and target of the same shape): the case strategy,
bounds, diagnosis variants, form cases and feature matrix that mse_loss, l1_loss,
smooth_l1_loss and huber_loss share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn
from torch.nn import functional as F

from verify import strategies as vs
from verify.benchmarking import workloads as w
from verify.contracts.contract import (
    Bounds,
    Contract,
    Feature,
    FeatureMatrix,
    FormCase,
    Param,
    Variant,
    torch_forms,
)
from verify.contracts.families.binary import binary_shapes
from verify.contracts.families.reduction import (
    REDUCTION,
    REDUCTION_FEATURES,
    empty_batches,
    not_applicable,
    output_shape,
    reduction_params,
    with_params,
)
from verify.oracles import regression
from verify.strategies import LossCase
from verify.tolerances import loss_scale

ELEMENTWISE = ("input and target of the same shape",)


@vs.reused
def _away_from_kinks(shape: tuple[int, ...]) -> tuple[st.SearchStrategy[np.ndarray], ...]:
    """Magnitudes in [0.05, 0.8] or [1.25, 20], and signs, of differences of ``shape``."""
    size = st.floats(0.05, 0.8) | st.floats(1.25, 20.0)
    signs = st.sampled_from([-1.0, 1.0])
    return (
        hnp.arrays(np.float64, shape, elements=size),
        hnp.arrays(np.float64, shape, elements=signs),
    )


@st.composite
def regression_cases(
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
        magnitudes, signs = _away_from_kinks(shape)
        magnitude = draw(magnitudes)
        inputs = target + draw(signs) * magnitude
    else:
        inputs = draw(vs.logits(shape, bound))
    params = reduction_params(reduction)
    if param is not None and param in features:
        params[param] = float(10.0 ** draw(st.floats(-3.0, 1.0)))
    return LossCase(inputs, target, params, draw(vs.cotangents(output_shape(shape, reduction))))


def _scales(power: int, param: str | None, magnitude: float, width: float) -> tuple[float, float]:
    """The scales of a value and of a slope, for inputs of size ``magnitude``."""
    if power == 2:
        return magnitude**2, 2.0 * magnitude
    if param == "beta":  # SmoothL1: slope d/β inside |d| < β
        return magnitude, max(1.0, magnitude / width) if width else 1.0
    if param == "delta":  # Huber: slope d inside |d| < δ, δ·sign(d) outside
        return magnitude * max(1.0, width), max(width, magnitude)
    return magnitude, 1.0


def regression_bounds(case: LossCase, inputs: np.ndarray, power: int, param: str | None) -> Bounds:
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
    value_scale, slope_scale = _scales(power, param, magnitude, width)
    terms = max(inputs.size, 1)
    return Bounds(
        value={"terms": terms, "scale": loss_scale(reduction, inputs.size) * value_scale},
        gradient={"terms": terms, "scale": cotangent * per_cotangent * slope_scale},
    )


def reduction_variants(oracle: Callable[..., np.ndarray]) -> tuple[Variant, ...]:
    """'sum' for 'mean', and 'mean' over the batch size alone."""

    def sum_for_mean(case: LossCase) -> np.ndarray:
        if case.params.get("reduction", "mean") != "mean":
            return not_applicable()
        return oracle(case.scores, case.target, **with_params(case.params, reduction="sum"))

    def mean_over_batch(case: LossCase) -> np.ndarray:
        if case.params.get("reduction", "mean") != "mean" or case.scores.ndim < 2:
            return not_applicable()
        total = oracle(case.scores, case.target, **with_params(case.params, reduction="sum"))
        return total / case.scores.shape[0]

    return (
        Variant("sum instead of mean", sum_for_mean),
        Variant("mean over the batch size N instead of every element", mean_over_batch),
    )


def regression_matrix(
    oracle: Callable[..., np.ndarray],
    power: int,
    param: str | None = None,
    variants: tuple[Variant, ...] = (),
) -> FeatureMatrix:
    """The feature matrix of an elementwise regression loss of ``power`` 1 or 2, with an
    optional width parameter (``beta``, ``delta``) and its own extra ``variants``."""
    features = [*REDUCTION_FEATURES]
    if param:
        features.append(Feature(param, f"{param} over 1e-3 … 10", param))
    return FeatureMatrix(
        tuple(features),
        lambda dtype, feats, reduction: regression_cases(dtype, feats, reduction, param),
        lambda case, inputs: regression_bounds(case, inputs, power, param),
        variants=(*reduction_variants(oracle), *variants),
        edges=lambda: empty_batches(np.zeros((2, 3)), np.zeros((2, 3))),
        gradcheck_cases=lambda dtype: regression_cases(dtype, frozenset(), "mean", None, True),
    )


def elementwise_form_case(draw: st.DrawFn, dtype: torch.dtype, params: dict[str, Any]) -> FormCase:
    """Two same-shaped arrays of logit-sized values (BCE-6's regression cases)."""
    shape = draw(binary_shapes())
    bound = vs.logit_bound(dtype)
    return FormCase((draw(vs.logits(shape, bound)), draw(vs.logits(shape, bound))), params, shape)


def regression_contract(
    name: str,
    summary: str,
    module: type[nn.Module],
    power: int,
    width: tuple[Param, st.SearchStrategy[float]] | None = None,
    variants: tuple[Variant, ...] = (),
    benchmarked: bool = False,
) -> Contract:
    """An elementwise regression loss's contract: the oracle and its VJP named after it in
    ``verify.oracles.regression``, torch's forms ``F.<name>`` and ``module``, ``reduction`` and
    the optional ``width`` parameter with the values its form cases draw; ``benchmarked``:
    timed on the regression workloads."""
    oracle = getattr(regression, name)
    param = width[0] if width else None
    return Contract(
        name=name,
        summary=summary,
        reference=oracle,
        gradient=getattr(regression, f"{name}_vjp"),
        params=(REDUCTION, *((param,) if param else ())),
        input_kinds=ELEMENTWISE,
        implementations=torch_forms(getattr(F, name), module),
        conformance=regression_matrix(oracle, power, param.name if param else None, variants),
        form_cases=elementwise_form_cases(*width) if width else elementwise_form_cases(),
        benchmark_cases=w.cases(
            name,
            (w.REGRESSION_SMALL, w.REGRESSION, w.REGRESSION_LARGE) if benchmarked else (),
            w.predictions_and_targets,
        ),
    )


def elementwise_form_cases(
    width: Param | None = None, values: st.SearchStrategy[float] | None = None
) -> Callable[[torch.dtype], st.SearchStrategy[FormCase]]:
    """Two same-shaped arrays (the regression losses' form cases), and the ``width`` parameter
    drawn from ``values``."""

    @st.composite
    def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> FormCase:
        params = {width.name: draw(values)} if width and values is not None else {}
        return elementwise_form_case(draw, dtype, params)

    return form_cases
