"""Self-tests for ``verify.tolerances``: the derived bounds and the comparison every spec uses.

Bounds are checked against the formula of the module docstring, recomputed here from
``torch.finfo``; comparisons are checked with perturbations expressed as multiples of the bound
``tolerance`` returns, so no test depends on the numeric value of a tolerance. Tests taking a
``dtype`` argument run once per floating dtype (the verify plugin parametrizes them).
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch

from verify import recording
from verify.devices import FLOATING_DTYPES, dtype_name, rounded, to_device
from verify.tolerances import (
    SAFETY_FACTOR,
    Tolerance,
    assert_close,
    assert_matches_published,
    compare,
    logsumexp_condition,
    loss_scale,
    tolerance,
)

# Loosest first. The 16-bit dtypes do their arithmetic in float32 (module docstring).
LOOSEST_FIRST = (torch.bfloat16, torch.float16, torch.float32, torch.float64)
ACCUMULATES_IN = {torch.float16: torch.float32, torch.bfloat16: torch.float32}
TERMS = (1, 2, 16, 1024)
CONDITIONS = (1.0, 10.0, 1e3)
PROBLEMS = [(1, 1.0, 1.0), (64, 30.0, 1.0), (4096, 1.0, 250.0)]  # (terms, condition, scale)


def eps(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps)


def expected_tolerance(dtype: torch.dtype, terms: int, condition: float, scale: float) -> Tolerance:
    """The module docstring's formula, written out independently of the implementation."""
    u_c = eps(ACCUMULATES_IN.get(dtype, dtype)) * (1 + math.log2(terms))
    u_d = eps(dtype)
    return Tolerance(
        rtol=SAFETY_FACTOR * (u_c + u_d), atol=SAFETY_FACTOR * (u_c * condition + u_d) * scale
    )


def bound(expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    """The elementwise allowed error atol + rtol·|expected|."""
    return tol.atol + tol.rtol * np.abs(expected)


def sample_expected() -> np.ndarray:
    """A small mixed-sign array with a zero, as a reference result."""
    return np.array([[-2.0, -0.5, 0.0], [0.25, 1.0, 3.0]])


# --- tolerance ------------------------------------------------------------------------------


@pytest.mark.parametrize(("terms", "condition", "scale"), PROBLEMS)
def test_tolerance_matches_docstring_formula(dtype, terms, condition, scale):
    """rtol and atol equal the docstring formula computed from torch.finfo."""
    got = tolerance(dtype, terms=terms, condition=condition, scale=scale)
    want = expected_tolerance(dtype, terms, condition, scale)
    assert got.rtol == pytest.approx(want.rtol)
    assert got.atol == pytest.approx(want.atol)


def test_tolerance_grows_with_terms(dtype):
    """Both rtol and atol increase strictly with the number of summed terms."""
    bounds = [tolerance(dtype, terms=t) for t in TERMS]
    assert all(a.rtol < b.rtol and a.atol < b.atol for a, b in itertools.pairwise(bounds))


def test_tolerance_grows_logarithmically_in_terms(dtype):
    """Squaring the number of terms doubles its (log2) contribution to the compute error."""
    base, store = SAFETY_FACTOR * eps(ACCUMULATES_IN.get(dtype, dtype)), SAFETY_FACTOR * eps(dtype)
    for terms in (2, 16):
        growth = tolerance(dtype, terms=terms).rtol - store - base
        squared = tolerance(dtype, terms=terms**2).rtol - store - base
        assert squared == pytest.approx(2 * growth)


def test_tolerance_atol_grows_with_condition_and_rtol_does_not(dtype):
    """The condition number loosens atol only; rtol does not depend on it."""
    bounds = [tolerance(dtype, condition=c) for c in CONDITIONS]
    assert all(a.atol < b.atol for a, b in itertools.pairwise(bounds))
    assert len({b.rtol for b in bounds}) == 1


def test_tolerance_never_tightens_below_one_term_and_unit_condition(dtype):
    """terms ≤ 1 and condition ≤ 1 give the base bound (nothing tighter)."""
    base = tolerance(dtype)
    assert tolerance(dtype, terms=0, condition=0.5) == base


def test_tolerance_atol_is_proportional_to_scale(dtype):
    """atol scales linearly with ``scale``; rtol is independent of it."""
    unit, scaled = tolerance(dtype, scale=1.0), tolerance(dtype, scale=8.0)
    assert scaled.atol == pytest.approx(8.0 * unit.atol)
    assert scaled.rtol == unit.rtol


@pytest.mark.parametrize(("terms", "condition", "scale"), PROBLEMS)
def test_tolerance_orders_dtypes_by_precision(terms, condition, scale):
    """bfloat16 is looser than float16, float16 than float32, float32 than float64."""
    bounds = [tolerance(d, terms=terms, condition=condition, scale=scale) for d in LOOSEST_FIRST]
    assert all(a.rtol > b.rtol and a.atol > b.atol for a, b in itertools.pairwise(bounds))


@pytest.mark.parametrize("low_precision", [torch.float16, torch.bfloat16], ids=dtype_name)
@pytest.mark.parametrize(("terms", "condition", "scale"), PROBLEMS)
def test_low_precision_computes_like_float32(low_precision, terms, condition, scale):
    """Without the storage term, float16/bfloat16 bounds equal float32's (float32 accumulation)."""

    def compute_part(dtype: torch.dtype) -> Tolerance:
        tol = tolerance(dtype, terms=terms, condition=condition, scale=scale)
        store = SAFETY_FACTOR * eps(dtype)
        return Tolerance(rtol=tol.rtol - store, atol=tol.atol - store * scale)

    low, single = compute_part(low_precision), compute_part(torch.float32)
    assert low.rtol == pytest.approx(single.rtol)
    assert low.atol == pytest.approx(single.atol)


# --- compare / assert_close -----------------------------------------------------------------


def test_equal_arrays_pass_with_ratio_zero(dtype):
    """Identical actual and expected give ratio 0 and zero errors."""
    expected = sample_expected()
    comparison = assert_close(expected.copy(), expected, dtype=dtype)
    assert comparison.passed
    assert (comparison.ratio, comparison.max_abs, comparison.max_rel) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(("terms", "condition"), [(1, 1.0), (100, 30.0)])
@pytest.mark.parametrize(("factor", "passes"), [(0.5, True), (2.0, False)])
def test_perturbation_relative_to_bound(dtype, terms, condition, factor, passes):
    """An error of 0.5× the derived bound passes (ratio ≈ 0.5); 2× the bound fails (ratio ≈ 2)."""
    expected = sample_expected()
    tol = tolerance(dtype, terms=terms, condition=condition, scale=np.max(np.abs(expected)))
    actual = expected + factor * bound(expected, tol)
    comparison = compare(actual, expected, dtype=dtype, terms=terms, condition=condition)
    realized = np.max(np.abs(actual - expected) / bound(expected, tol))  # after rounding
    assert comparison.tolerance == tol
    assert comparison.ratio == pytest.approx(realized)
    assert bool(realized < 1) is passes
    assert comparison.passed is passes
    if passes:
        assert_close(actual, expected, dtype=dtype, terms=terms, condition=condition)
    else:
        with pytest.raises(AssertionError):
            assert_close(actual, expected, dtype=dtype, terms=terms, condition=condition)


INF, NAN = math.inf, math.nan
SPECIAL_VALUES = [
    pytest.param(NAN, NAN, True, id="nan-nan"),
    pytest.param(NAN, 1.0, False, id="nan-number"),
    pytest.param(1.0, NAN, False, id="number-nan"),
    pytest.param(INF, INF, True, id="inf-inf"),
    pytest.param(-INF, -INF, True, id="neginf-neginf"),
    pytest.param(INF, -INF, False, id="inf-neginf"),
    pytest.param(INF, 1.0, False, id="inf-number"),
    pytest.param(1.0, INF, False, id="number-inf"),
]


@pytest.mark.parametrize(("actual", "expected", "passes"), SPECIAL_VALUES)
def test_nan_and_infinity_handling(actual, expected, passes):
    """NaN matches NaN and an infinity matches the same infinity; nothing else matches them."""
    a, e = np.array([0.5, actual]), np.array([0.5, expected])
    comparison = compare(a, e, dtype=torch.float32)
    assert comparison.passed is passes
    if passes:
        assert comparison.ratio == 0.0
        assert_close(a, e, dtype=torch.float32)
    else:
        assert comparison.worst_index == (1,)
        with pytest.raises(AssertionError):
            assert_close(a, e, dtype=torch.float32)


@pytest.mark.parametrize("check", [compare, assert_close], ids=["compare", "assert_close"])
def test_shape_mismatch_names_both_shapes(check):
    """Different shapes raise AssertionError naming both, never broadcast."""
    actual, expected = np.zeros((2, 3)), np.zeros((3, 2))
    with pytest.raises(AssertionError, match=re.escape(str((2, 3)))) as raised:
        check(actual, expected, dtype=torch.float32)
    assert str((3, 2)) in str(raised.value)


def test_shape_mismatch_is_not_broadcast():
    """A (3,) result is not accepted for a (1, 3) reference even though they broadcast."""
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.ones(3), np.ones((1, 3)), dtype=torch.float64)


def test_failure_message_names_what_dtype_index_and_values(dtype):
    """The failure names what was compared, the dtype, the worst index and both values there."""
    expected = np.ones((2, 3))
    actual = expected.copy()
    actual[0, 1] = 1.5  # a smaller, also failing, error elsewhere
    actual[1, 2] = 3.0
    with pytest.raises(AssertionError) as raised:
        assert_close(actual, expected, dtype=dtype, what="per-sample loss")
    message = str(raised.value)
    assert message.startswith("per-sample loss: got ")
    assert f"/{dtype_name(dtype)}]" in message
    assert str((1, 2)) in message
    assert f"got {3.0!r}" in message
    assert f"expected {1.0!r}" in message


def test_worst_index_points_at_largest_ratio():
    """The reported worst element is the one with the largest error relative to its bound."""
    expected = np.array([[0.0, 100.0], [1.0, 2.0]])
    tol = tolerance(torch.float64, scale=100.0)
    actual = expected + bound(expected, tol) * np.array([[0.5, 0.9], [3.0, 0.1]])
    comparison = compare(actual, expected, dtype=torch.float64)
    assert comparison.worst_index == (1, 0)
    assert comparison.actual_at_worst == actual[1, 0]
    assert comparison.expected_at_worst == expected[1, 0]


ARRAY_KINDS = [
    pytest.param(lambda x, d: to_device(x, "cpu", d), lambda x, d: x, id="tensor-numpy"),
    pytest.param(lambda x, d: x, lambda x, d: to_device(x, "cpu", d), id="numpy-tensor"),
    pytest.param(
        lambda x, d: to_device(x, "cpu", d, requires_grad=True),
        lambda x, d: to_device(x, "cpu", d),
        id="tensor-tensor",
    ),
]


@pytest.mark.parametrize(("make_actual", "make_expected"), ARRAY_KINDS)
def test_accepts_tensors_in_every_dtype(dtype, make_actual, make_expected):
    """Tensors (float16 and bfloat16 included) compare by their values; 2× the bound still fails."""
    expected = rounded(sample_expected(), dtype)
    comparison = assert_close(
        make_actual(expected, dtype), make_expected(expected, dtype), dtype=dtype
    )
    assert comparison.ratio == 0.0

    tol = tolerance(dtype, scale=np.max(np.abs(expected)))
    # Rounding the shifted values to ``dtype`` moves them by at most half an ulp, far below
    # the bound (which is at least SAFETY_FACTOR ulps), so they stay well outside it.
    off = make_actual(expected + 2 * bound(expected, tol), dtype)
    with pytest.raises(AssertionError, match=re.escape(f"/{dtype_name(dtype)}]")):
        assert_close(off, make_expected(expected, dtype), dtype=dtype)


def test_accepts_python_scalars_and_zero_dim_tensors():
    """A reduced loss may be a 0-d tensor compared with a Python float."""
    comparison = assert_close(torch.tensor(0.75, dtype=torch.float32), 0.75, dtype=torch.float32)
    assert comparison.ratio == 0.0
    assert comparison.worst_index == ()


@pytest.mark.parametrize("as_input", [np.asarray, torch.from_numpy], ids=["numpy", "tensor"])
def test_empty_arrays_pass(dtype, as_input):
    """Empty results (an empty batch with reduction='none') compare equal with ratio 0."""
    empty = np.empty((0, 3))
    comparison = assert_close(as_input(empty), as_input(empty.copy()), dtype=dtype)
    assert comparison.passed
    assert comparison.ratio == 0.0
    assert comparison.worst_index is None


def test_default_scale_is_largest_finite_expected_magnitude(dtype):
    """Without ``scale`` the atol is measured against max |expected| over finite values."""
    expected = np.array([-3.0, 0.5, INF, NAN])
    comparison = compare(expected, expected, dtype=dtype)
    assert comparison.tolerance == tolerance(dtype, scale=3.0)


def test_default_scale_without_finite_values_is_tiny(dtype):
    """With no finite expected value the scale falls back to the dtype's smallest normal."""
    expected = np.array([INF, NAN])
    comparison = compare(expected, expected, dtype=dtype)
    assert comparison.tolerance == tolerance(dtype, scale=float(torch.finfo(dtype).tiny))


def test_default_scale_makes_small_references_strict():
    """For references ~1e-5 an error passes only within the bound scaled to them, not to 1.

    An error at a zero entry is held to atol alone: twice the atol scaled to max |expected|
    fails by default, although it is far below the atol an absolute scale of 1 would allow.
    """
    expected = np.array([1e-5, 2e-5, 0.0])
    small = tolerance(torch.float64, scale=np.max(np.abs(expected)))
    error = 2 * small.atol
    assert error < tolerance(torch.float64, scale=1.0).atol
    actual = expected + np.array([0.0, 0.0, error])
    assert not compare(actual, expected, dtype=torch.float64).passed
    assert compare(actual, expected, dtype=torch.float64, scale=1.0).passed


SMALL_REFERENCES = np.array([1e-5, -2e-5, 3e-5])


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_tiny_absolute_error_on_small_references_is_measured_against_the_bound(factor):
    """An absolute error on values ~1e-5 passes exactly when it is within the scaled bound."""
    tol = tolerance(torch.float64, scale=np.max(np.abs(SMALL_REFERENCES)))
    allowed = bound(SMALL_REFERENCES, tol)
    actual = SMALL_REFERENCES + np.array([factor * allowed[0], 0.0, 0.0])
    realized = abs(actual[0] - SMALL_REFERENCES[0])  # exact: the addition rounded the error
    comparison = compare(actual, SMALL_REFERENCES, dtype=torch.float64)
    assert comparison.ratio == pytest.approx(realized / allowed[0])
    assert comparison.passed is (factor < 1)


def test_1e_minus_20_error_on_small_references():
    """A 1e-20 error on values ~1e-5 in float64 passes, being within the bound scaled to 1e-5."""
    tol = tolerance(torch.float64, scale=np.max(np.abs(SMALL_REFERENCES)))
    actual = SMALL_REFERENCES + np.array([1e-20, 0.0, 0.0])
    realized = abs(actual[0] - SMALL_REFERENCES[0])
    assert realized <= bound(SMALL_REFERENCES, tol)[0]
    comparison = assert_close(actual, SMALL_REFERENCES, dtype=torch.float64)
    assert comparison.ratio == pytest.approx(realized / bound(SMALL_REFERENCES, tol)[0])


# --- recording ------------------------------------------------------------------------------


def test_assert_close_records_into_open_observation():
    """Each assert_close (failing ones too) counts; the observation keeps the worst ratio."""
    expected = sample_expected()
    tol = tolerance(torch.float32, scale=np.max(np.abs(expected)))
    with recording.observing() as observation:
        first = assert_close(expected + 0.5 * bound(expected, tol), expected, dtype=torch.float32)
        second = assert_close(expected + 0.25 * bound(expected, tol), expected, dtype=torch.float32)
        assert observation.comparisons == 2
        assert observation.worst_ratio == max(first.ratio, second.ratio) == first.ratio
        assert observation.worst_abs == first.max_abs
        with pytest.raises(AssertionError):
            assert_close(expected + 2 * bound(expected, tol), expected, dtype=torch.float32)
    assert observation.comparisons == 3
    assert observation.worst_ratio == pytest.approx(2.0)


def test_assert_close_records_nothing_outside_an_observation(monkeypatch):
    """With no observation open, assert_close neither fails nor opens or touches one.

    The verify plugin opens an observation around every test call, so "outside one" is
    simulated by clearing the module's current observation for this test.
    """
    with recording.observing() as closed:
        pass
    monkeypatch.setattr(recording, "_current", None)
    expected = sample_expected()
    assert_close(expected, expected, dtype=torch.float64)
    assert recording._current is None
    assert closed.comparisons == 0


# --- condition and scale helpers ------------------------------------------------------------


@pytest.mark.parametrize(("shape", "class_axis"), [((4, 3), 1), ((2, 5, 3, 2), 1), ((4, 7), -1)])
def test_logsumexp_condition_formula(shape, class_axis):
    """The condition is 1 + max|x| + log C, C the length of the class axis."""
    scores = np.random.default_rng(0).normal(scale=20.0, size=shape)
    want = 1 + np.max(np.abs(scores)) + math.log(shape[class_axis])
    assert logsumexp_condition(scores, class_axis) == pytest.approx(want)


@pytest.mark.parametrize("shape", [(0, 3), (0,), (2, 0)])
def test_logsumexp_condition_of_empty_input_is_one(shape):
    """An empty input has condition 1 (no amplification)."""
    assert logsumexp_condition(np.empty(shape)) == 1.0


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_loss_scale_of_unsummed_reductions_is_the_largest_weight(reduction):
    """'none' and 'mean' scale with the largest weight and not with the number of positions."""
    weight = np.array([0.5, 4.0, 2.0])
    largest = np.max(weight)
    assert loss_scale(reduction, 10, weight) == loss_scale(reduction, 1000, weight) == largest
    assert loss_scale(reduction, 10) == 1.0


def test_loss_scale_of_sum_grows_with_positions_and_weight():
    """'sum' scales with largest weight × positions (at least one position)."""
    weight = np.array([0.5, 4.0, 2.0])
    assert loss_scale("sum", 10) == 10.0
    assert loss_scale("sum", 10, weight) == 10 * np.max(weight)
    assert loss_scale("sum", 20, weight) == 2 * loss_scale("sum", 10, weight)
    assert loss_scale("sum", 0) == 1.0


def test_loss_scale_without_weights_is_one():
    """No weight and an empty weight array both count as weight 1."""
    assert loss_scale("mean", 5, None) == loss_scale("mean", 5, np.empty(0)) == 1.0


# --- published figures ----------------------------------------------------------------------


def half_unit(published: str) -> float:
    """Half a unit in the last decimal place written in ``published``."""
    decimals = len(published.split(".")[1]) if "." in published else 0
    return 0.5 * 10.0**-decimals


PUBLISHED = ["0.5493", "0.0184", "8.2502", "12.5", "3"]


@pytest.mark.parametrize("published", PUBLISHED)
@pytest.mark.parametrize("offset", [0.0, 0.99, -0.99, 1.0, -1.0])
def test_published_figure_accepts_within_half_unit(published, offset):
    """Values within ± half a unit of the last written decimal (edges included) match."""
    value = float(published) + offset * half_unit(published)
    assert_matches_published(value, published, what="example loss")
    assert_matches_published(torch.tensor(value, dtype=torch.float64), published, what="loss")


@pytest.mark.parametrize("published", PUBLISHED)
@pytest.mark.parametrize("offset", [1.01, -1.01, 4.0])
def test_published_figure_rejects_just_outside(published, offset):
    """Values just beyond half a unit of the last written decimal do not match."""
    value = float(published) + offset * half_unit(published)
    with pytest.raises(AssertionError, match=re.escape(f"example loss: got {value!r}")):
        assert_matches_published(value, published, what="example loss")


def test_published_precision_is_decimal_places_not_significant_figures():
    """ "0.0184" (3 significant figures) is held to ±0.00005, like "8.2502": 4 decimals each."""
    assert half_unit("0.0184") == half_unit("8.2502")
    off = float("0.0184") + 2 * half_unit("0.0184")
    with pytest.raises(AssertionError):
        assert_matches_published(off, "0.0184", what="kl")


def test_published_comparison_is_recorded():
    """A published-figure check counts as a comparison, with ratio error / half unit."""
    published = "0.5493"
    with recording.observing() as observation:
        assert_matches_published(float(published) + 0.5 * half_unit(published), published, what="x")
    assert observation.comparisons == 1
    assert observation.worst_ratio == pytest.approx(0.5)


def test_all_floating_dtypes_are_ordered():
    """The ordering test covers exactly the floating dtypes the suite runs in."""
    assert set(LOOSEST_FIRST) == set(FLOATING_DTYPES)


def test_nothing_below_the_smallest_normal_number_is_judged(dtype):  # every dtype (the plugin)
    """A gradient at the underflow threshold returned as 0 (a flushed intermediate) is not a
    deviation; four times the threshold is (optax's focal loss was held to 1e-318 in float64)."""
    tiny = torch.finfo(dtype).tiny
    assert compare(0.0, -tiny, dtype=dtype, scale=tiny).passed
    assert not compare(0.0, -4 * tiny, dtype=dtype, scale=4 * tiny).passed
