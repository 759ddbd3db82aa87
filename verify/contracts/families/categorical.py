"""Class scores (N, C, d1..dk) with class-index or probability targets: the parameters,
case strategy, bounds and edge cases that cross_entropy, nll_loss and softmax_focal_loss
share."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from verify import oracles
from verify import strategies as vs
from verify.contracts.contract import Bounds, Edge, Feature, Param
from verify.contracts.families.reduction import empty_batches, output_shape, reduction_params
from verify.strategies import LossCase
from verify.tolerances import logsumexp_condition, loss_scale

CLASS_WEIGHT = Param("weight", None, "None or a positive (C,) tensor of class weights")
IGNORE_INDEX = Param("ignore_index", -100, "an integer; targets equal to it are ignored")
CLASS_INDICES = ("class indices (N,)", "class indices (N, d1..dk)")

WEIGHT_FEATURE = Feature("weight", "class weights (C,)", "weight")
IGNORE_INDEX_FEATURE = Feature(
    "ignore_index", "targets equal to ignore_index are ignored", "ignore_index"
)


@st.composite
def categorical_cases(
    draw: st.DrawFn, dtype: torch.dtype, features: frozenset[str], reduction: str, log_probs: bool
) -> LossCase:
    kdims = 2 if "k_dim" in features else 0
    shape = draw(vs.shapes(min_n=1, max_n=5, min_c=2, max_c=5, max_kdims=kdims))
    if kdims and len(shape) == 2:
        shape = (*shape, 2)
    n_classes, positions = shape[1], (shape[0], *shape[2:])
    params = reduction_params(reduction)
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
    return LossCase(scores, target, params, draw(vs.cotangents(output_shape(positions, reduction))))


def categorical_bounds(case: LossCase, scores: np.ndarray, gradient_bound: Any) -> Bounds:
    """Log-sum-exp conditioning of the scores; the gradient's scale is ``gradient_bound``."""
    reduction = case.params.get("reduction", "mean")
    positions = scores.size // scores.shape[1]
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    scale = loss_scale(reduction, positions, case.params.get("weight"))
    return Bounds(
        value={"terms": terms, "condition": condition, "scale": scale},
        gradient={"terms": terms, "condition": condition, "scale": gradient_bound},
    )


def categorical_edges(log_probs: bool) -> list[Edge]:
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
        *empty_batches(scores, ignored),
    ]


def positions(scores: np.ndarray) -> tuple[int, ...]:
    """The positions of class scores (N, C, d1..dk): (N, d1..dk)."""
    return (scores.shape[0], *scores.shape[2:])
