"""Self-tests for ``verify.strategies``: every strategy draws valid inputs and reaches hard cases.

Tests taking a ``dtype`` argument run once per floating dtype (the verify plugin parametrizes
them). Validity is checked with ``@given`` over the strategies themselves; reachability of the
hard regions (empty and all-ignored batches, K-dimensional inputs, logits past exp's overflow)
with ``hypothesis.find``, which fails with ``NoSuchExample`` if the case is never drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

from verify import strategies as vs
from verify.devices import FLOATING_DTYPES, dtype_name, rounded
from verify.oracles.reduction import REDUCTIONS
from verify.tolerances import assert_close

EXAMPLES = 20
REACH_EXAMPLES = 500
# The span ``class_weights`` promises (its docstring: "1e-2 to 1e2").
WEIGHT_RANGE = (1e-2, 1e2)
# The side bound of K-dimensional extents that ``classification_cases`` uses (``shapes``' default).
DEFAULT_MAX_SIDE = 3

CASE_BOUNDS = [
    pytest.param({"min_n": 0, "max_n": 6, "min_c": 2, "max_c": 6, "max_kdims": 2}, id="defaults"),
    pytest.param({"min_n": 1, "max_n": 2, "min_c": 3, "max_c": 3, "max_kdims": 0}, id="fixed-c"),
    pytest.param({"min_n": 2, "max_n": 4, "min_c": 2, "max_c": 5, "max_kdims": 1}, id="1d"),
]
MARGINS = (0.0, 1e-3, 0.25)


def reach(strategy: st.SearchStrategy, condition: Callable[[Any], bool]) -> Any:
    """An example of ``strategy`` satisfying ``condition`` (``NoSuchExample`` if none is drawn)."""
    return find(strategy, condition, settings=settings(database=None, max_examples=REACH_EXAMPLES))


def check_shape_bounds(shape: tuple[int, ...], bounds: dict[str, int], max_side: int) -> None:
    """``shape`` is (N, C, d1, ..., dk) within the min/max bounds given."""
    n, c, *extents = shape
    assert bounds["min_n"] <= n <= bounds["max_n"]
    assert bounds["min_c"] <= c <= bounds["max_c"]
    assert len(extents) <= bounds["max_kdims"]
    assert all(1 <= d <= max_side for d in extents)


def check_case(case: vs.LossCase, dtype: torch.dtype, bounds: dict[str, int]) -> None:
    """Every documented property of one ``classification_cases`` draw."""
    check_shape_bounds(case.scores.shape, bounds, DEFAULT_MAX_SIDE)
    n_classes = case.scores.shape[1]
    positions = (case.scores.shape[0], *case.scores.shape[2:])

    assert case.scores.dtype == np.float64
    assert np.all(np.isfinite(case.scores))
    assert np.all(np.abs(case.scores) <= vs.logit_bound(dtype))

    assert case.target.dtype == np.int64
    assert case.target.shape == positions
    in_range = (case.target >= 0) & (case.target < n_classes)
    if "ignore_index" in case.params:
        ignore_index = case.params["ignore_index"]
        assert ignore_index == vs.DEFAULT_IGNORE_INDEX or 0 <= ignore_index < n_classes
        in_range |= case.target == ignore_index
    assert np.all(in_range)

    if "weight" in case.params:
        weight = case.params["weight"]
        assert weight.shape == (n_classes,)
        assert np.all(weight > 0)
        assert np.all((WEIGHT_RANGE[0] <= weight) & (weight <= WEIGHT_RANGE[1]))

    reduction = case.params["reduction"]
    assert reduction in REDUCTIONS
    cotangent = np.asarray(case.cotangent)
    assert cotangent.shape == (positions if reduction == "none" else ())
    assert np.all(cotangent != 0)
    assert set(case.params) <= {"reduction", "ignore_index", "weight"}


@pytest.mark.parametrize("bounds", CASE_BOUNDS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_classification_cases_are_valid(dtype, bounds, data):
    """Scores, targets, weights, reduction and cotangent satisfy their documented constraints."""
    check_case(data.draw(vs.classification_cases(dtype, **bounds)), dtype, bounds)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_classification_cases_honour_fixed_reduction_and_disabled_params(dtype, reduction, data):
    """A fixed ``reduction`` is used, and weights=False / ignore_index=False never add them."""
    case = data.draw(
        vs.classification_cases(dtype, reduction=reduction, weights=False, ignore_index=False)
    )
    assert case.params == {"reduction": reduction}
    assert np.all((case.target >= 0) & (case.target < case.scores.shape[1]))


def test_classification_cases_reach_the_empty_batch():
    """With ``min_n=0`` an empty batch (N = 0) is drawn."""
    case = reach(vs.classification_cases(torch.float32, min_n=0), lambda c: c.scores.shape[0] == 0)
    assert case.target.size == 0


def test_classification_cases_reach_an_all_ignored_batch():
    """A non-empty batch whose every target is the ignore index is drawn."""

    def all_ignored(case: vs.LossCase) -> bool:
        ignore_index = case.params.get("ignore_index")
        return (
            ignore_index is not None
            and case.target.size > 0
            and bool(np.all(case.target == ignore_index))
        )

    reach(vs.classification_cases(torch.float32, max_n=2, max_kdims=1), all_ignored)


def test_classification_cases_reach_k_dimensional_inputs():
    """With the default ``max_kdims`` scores of shape (N, C, d1, d2) are drawn."""
    reach(vs.classification_cases(torch.float32, min_n=1), lambda c: c.scores.ndim == 4)


@pytest.mark.parametrize("margin", MARGINS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_probabilities_stay_inside_open_unit_interval_after_rounding(dtype, margin, data):
    """Rounded to ``dtype`` the values are still strictly inside (0, 1) (bfloat16 included)."""
    shape = data.draw(vs.shapes(max_kdims=1))
    p = data.draw(vs.probabilities(shape, dtype, margin=margin))
    assert p.shape == shape
    p_rounded = rounded(p, dtype)
    assert np.all((p_rounded > 0) & (p_rounded < 1)), p_rounded


@pytest.mark.parametrize("margin", MARGINS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_probabilities_respect_margin_as_drawn(dtype, margin, data):
    """The float64 values drawn lie in [margin, 1 − margin]."""
    p = data.draw(vs.probabilities((8,), dtype, margin=margin))
    assert np.all((margin <= p) & (p <= 1 - margin)), p


@pytest.mark.parametrize("margin", MARGINS)
@pytest.mark.parametrize("float_dtype", FLOATING_DTYPES, ids=dtype_name)
@given(data=st.data())
def test_probabilities_respect_margin_after_rounding(float_dtype, margin, data):
    """Rounded to the dtype under test, the values still lie in [margin, 1 − margin]."""
    p = rounded(data.draw(vs.probabilities((8,), float_dtype, margin=margin)), float_dtype)
    assert np.all((margin <= p) & (p <= 1 - margin)), p


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_soft_targets_are_probability_vectors_along_class_axis(data):
    """Soft targets are non-negative and each vector along axis 1 sums to 1."""
    shape = data.draw(vs.shapes(max_kdims=2))
    target = data.draw(vs.soft_targets(shape))
    assert target.shape == shape
    assert np.all(target >= 0)
    sums = target.sum(axis=1)
    assert_close(sums, np.ones_like(sums), dtype=torch.float64, terms=shape[1], what="row sums")


@pytest.mark.parametrize("soft", [False, True])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_binary_targets_are_zero_one_or_in_unit_interval(soft, data):
    """Hard binary targets are exactly 0 or 1; soft ones lie anywhere in [0, 1]."""
    shape = data.draw(vs.shapes(max_kdims=1))
    target = data.draw(vs.binary_targets(shape, soft=soft))
    assert target.shape == shape
    if soft:
        assert np.all((target >= 0) & (target <= 1))
    else:
        assert np.all((target == 0) | (target == 1))


@pytest.mark.parametrize("ignore_index", [None, vs.DEFAULT_IGNORE_INDEX, 0])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_class_targets_are_classes_or_the_ignore_index(ignore_index, data):
    """Class targets are int64 in [0, C), or equal to ``ignore_index`` when one is given."""
    shape = data.draw(vs.shapes(max_kdims=2))
    positions, n_classes = (shape[0], *shape[2:]), shape[1]
    target = data.draw(vs.class_targets(positions, n_classes, ignore_index))
    assert target.dtype == np.int64
    assert target.shape == positions
    valid = (target >= 0) & (target < n_classes)
    if ignore_index is not None:
        valid |= target == ignore_index
    assert np.all(valid)


def test_class_targets_reach_all_ignored():
    """With an ignore index, an array whose every position is ignored is drawn."""
    strategy = vs.class_targets((3, 2), 4, vs.DEFAULT_IGNORE_INDEX)
    reach(strategy, lambda t: bool(np.all(t == vs.DEFAULT_IGNORE_INDEX)))


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_logits_stay_within_bound(dtype, data):
    """Logits have the requested shape and |x| ≤ ``logit_bound(dtype)``."""
    shape = data.draw(vs.shapes(max_kdims=1))
    scores = data.draw(vs.logits(shape, vs.logit_bound(dtype)))
    assert scores.shape == shape
    assert np.all(np.abs(scores) <= vs.logit_bound(dtype))


def test_logits_reach_past_exp_overflow(dtype):
    """Logits for ``dtype`` reach magnitudes where exp overflows in ``dtype`` (float32: 88.7)."""
    overflow = math.log(torch.finfo(dtype).max)
    reach(vs.logits((4,), vs.logit_bound(dtype)), lambda x: bool(np.max(np.abs(x)) > overflow))


SHAPE_BOUNDS = {"min_n": 1, "max_n": 4, "min_c": 2, "max_c": 5, "max_kdims": 2}


@settings(max_examples=EXAMPLES)
@given(shape=vs.shapes(**SHAPE_BOUNDS, max_side=2))
def test_shapes_honour_bounds(shape):
    """``shapes`` draws (N, C, d...) within every bound it is given."""
    check_shape_bounds(shape, SHAPE_BOUNDS, max_side=2)


def test_shapes_reach_k_dimensional():
    """``shapes(max_kdims=2)`` draws shapes with two extra dimensions."""
    assert len(reach(vs.shapes(max_kdims=2), lambda s: len(s) == 4)) == 4
