"""Elementwise binary losses (probabilities or logits against targets in [0, 1]): the case
strategies, bounds and form cases that binary_cross_entropy and
binary_cross_entropy_with_logits share, and the benchmark cases of the losses on logits."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import oracles
from verify import strategies as vs
from verify.benchmarking import workloads as w
from verify.contracts.contract import Bounds, Feature, FormCase, Param
from verify.contracts.families.reduction import output_shape, reduction_params
from verify.strategies import LossCase
from verify.tolerances import logsumexp_condition, loss_scale

# BCELoss's backward divides by max(p·(1 − p), 1e-12): its gradient is the derivative of the
# loss only where p·(1 − p) ≥ 1e-12 (see the BCE-7 spec).
BCE_GRADIENT_MARGIN = 2e-12

ELEMENT_WEIGHT = Param("weight", None, "None or a tensor broadcastable to the input")
ELEMENT_WEIGHT_FEATURE = Feature("weight", "per-element weight, broadcast", "weight")
SOFT_TARGETS_FEATURE = Feature("soft_targets", "targets anywhere in [0, 1]")


@st.composite
def binary_cases(
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
    params = reduction_params(reduction)
    if "weight" in features:
        params["weight"] = draw(vs.class_weights(shape[1]))
    if "pos_weight" in features:
        params["pos_weight"] = draw(vs.class_weights(shape[1]))
    return LossCase(inputs, target, params, draw(vs.cotangents(output_shape(shape, reduction))))


def binary_bounds(case: LossCase, inputs: np.ndarray, logits: bool) -> Bounds:
    reduction = case.params.get("reduction", "mean")
    largest = max(float(np.max(case.params.get(k, np.ones(1)))) for k in ("weight", "pos_weight"))
    terms = max(inputs.size, 1)
    if not logits:
        return Bounds(value={"terms": terms}, gradient={"terms": terms})
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


@st.composite
def binary_shapes(draw: st.DrawFn, *, min_n: int = 0, max_n: int = 5) -> tuple[int, ...]:
    """(N,), (N, C) or (N, C, d): shapes binary losses take elementwise; N ≥ min_n (0 allowed)."""
    return draw(_binary_shape_choices(min_n, max_n))


@vs.reused
def _binary_shape_choices(min_n: int, max_n: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.one_of(
        st.tuples(st.integers(min_n, max_n)),
        vs.shapes(min_n=min_n, max_n=max_n, min_c=1, max_c=4, max_kdims=1, max_side=3),
    )


@st.composite
def element_weights(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    """Positive weights (1e-2 to 1e2) of a shape that broadcasts to ``shape``: the full shape,
    a trailing suffix of it, any of those axes collapsed to 1, or a scalar."""
    kept = draw(st.integers(0, len(shape)))
    suffix = tuple(draw(st.sampled_from([size, 1])) for size in shape[len(shape) - kept :])
    exponents = draw(_exponents(suffix))
    return np.array(10.0**exponents)  # a 0-d array, not a NumPy scalar, for ()


@vs.reused
def _exponents(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0))


@st.composite
def binary_form_cases(draw: st.DrawFn, dtype: torch.dtype, logits: bool) -> FormCase:
    """Logits or probabilities of any binary shape (N = 0 included), hard or soft targets, and
    an optional broadcast ``weight`` (drawn as the BCE specs' ``binary_cases(dtype, 'none')``
    draws them, cotangent included, so the examples are the same)."""
    shape = draw(binary_shapes())
    if logits:
        scores = draw(vs.logits(shape, vs.logit_bound(dtype)))
    else:
        scores = draw(vs.probabilities(shape, dtype, margin=0.0))
    soft = draw(st.booleans())
    params = {}
    if draw(st.booleans()):
        params["weight"] = draw(element_weights(shape))
    target = draw(vs.binary_targets(shape, soft=soft))
    draw(vs.cotangents(shape))  # unused here; drawn to keep the examples of the BCE specs
    return FormCase((scores, target), params, scores.shape)


def logit_benchmark_cases(
    loss: str, variant: str, params: dict[str, Any] | None = None, **options: Any
) -> tuple[w.Case, ...]:
    """``loss``'s benchmark cases as every binary loss on logits has them: logits and binary
    targets on the detection and segmentation workloads (``options``: ``w.cases``')."""
    return w.cases(
        loss, (w.DETECTION, w.SEGMENTATION), w.logits_and_binary_targets, variant, params, **options
    )
