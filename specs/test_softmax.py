"""Softmax family: SM-1 (range, normalization, published example) and SM-2 (shift invariance).

softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along the class axis (dim 1 here). With G the gap
max x − min x of a row of C logits, every output lies in [e^−G/C, 1 − e^−G/C] ⊂ (0, 1) and the
outputs sum to 1. In floating point the interval closes: the largest output rounds to exactly
1 once e^−G is below about half an ulp of 1, and the smallest underflows to exactly 0 once
e^−G is below half the smallest subnormal. Measured on the CPU for a row [0, −G]:

    dtype     output = 1 from G =                output = 0 from G =
    float64   36.74  (log(2/ε))                  745.13 (−log(smallest subnormal / 2))
    float32   16.64  (log(2/ε))                  103.97
    float16    8.32  (log(4/ε), via float32)      17.33
    bfloat16   6.23  (log(4/ε), via float32)      92.75 (G rounded to bfloat16)

so "outputs in (0, 1)" holds for moderate gaps, G ≤ log(1/(C·ε)), and as [0, 1] everywhere.

Shift invariance softmax(x + c) = softmax(x) is exact in real arithmetic; in the dtype, x + c
is rounded, with an absolute error of u·|x + c| that softmax passes on (its absolute
condition is 1 per unit of logit error): the tolerance grows with |c|. Subtracting the max is
what lets an implementation use it: the tutorial softmax exp(x)/Σ exp(x) overflows to
inf/inf = NaN once max x > log(largest finite) (88.72 in float32), and gives 0/0 = NaN once
every exp(x) underflows; ``torch.softmax`` does neither.

Implementations come from the ``softmax`` and ``log_softmax`` contracts (functional and
module forms); references are ``verify.oracles.softmax`` (SciPy, float64).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip, value_and_grad
from verify.checks import check
from verify.devices import dtype_name, rounded, to_device, to_numpy
from verify.tolerances import assert_close, assert_matches_published, logsumexp_condition

# Strategies are built once per argument tuple and reused: hypothesis validates every new
# strategy object on its first draw, which costs as much as the rest of an example.
_shapes = functools.cache(vs.shapes)
_logits = functools.cache(vs.logits)
_cotangents = functools.cache(vs.cotangents)
_class_targets = functools.cache(vs.class_targets)


@functools.cache
def _float_arrays(shape: tuple[int, ...], low: float, high: float) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_subnormal=False))


F64_F32 = pytest.mark.dtypes(torch.float64, torch.float32)


def _scores(data, dtype, *, max_kdims: int = 1) -> np.ndarray:
    """Scores (N, C) or (N, C, d) up to the dtype's logit bound."""
    shape = data.draw(_shapes(max_n=4, max_kdims=max_kdims), label="shape")
    return data.draw(_logits(shape, vs.logit_bound(dtype)), label="x")


@pytest.mark.claim("SM-1")
@given(data=st.data())
def test_sm1_softmax_and_log_softmax_match_the_oracle(device, dtype, softmax, log_softmax, data):
    """softmax and log_softmax along dim 1 of (N, C, d) scores, values and gradients.

    softmax's absolute error does not grow with the logits (p·|x − max| ≤ 1/e), so it is held
    with condition 1 on the scale of probabilities (values) and of the cotangent (gradients,
    p ⊙ (g − Σ g·p)); log_softmax = x − logsumexp(x) has the log-domain condition.
    """
    x = _scores(data, dtype)
    g = rounded(data.draw(_cotangents(x.shape), label="g"), dtype)
    x_r, terms = rounded(x, dtype), x.size
    g_scale = float(np.max(np.abs(g)))
    sides = {
        "softmax": (
            softmax,
            oracles.softmax(x_r, axis=1),
            oracles.softmax_vjp(x_r, g, axis=1),
            {"condition": 1.0, "scale": 1.0},
            {"condition": 1.0, "scale": g_scale},
        ),
        "log_softmax": (
            log_softmax,
            oracles.log_softmax(x_r, axis=1),
            oracles.log_softmax_vjp(x_r, g, axis=1),
            {"condition": logsumexp_condition(x_r), "scale": 1.0},
            {"condition": 1.0, "scale": float(np.max(np.sum(np.abs(g), axis=1)))},
        ),
    }
    for name, (fn, expected, expected_grad, value_kw, grad_kw) in sides.items():
        assert_value_and_gradient(
            fn,
            [to_device(x, device, dtype)],
            expected,
            expected_grad,
            cotangent=g,
            dtype=dtype,
            value_tolerance={"terms": terms, **value_kw},
            grad_tolerance={"terms": terms, **grad_kw},
            what=name,
            dim=1,
        )


@pytest.mark.claim("SM-1")
@given(data=st.data())
def test_sm1_outputs_lie_in_unit_interval_and_sum_to_one(device, dtype, softmax, data):
    """0 ≤ softmax(x) ≤ 1 exactly, for any logits, and Σ_c softmax(x)_c = 1 up to rounding."""
    x = _scores(data, dtype)
    p = to_numpy(call_or_skip(softmax, to_device(x, device, dtype), dim=1))
    check(np.all((p >= 0.0) & (p <= 1.0)), "softmax outputs", (p.min(), p.max()), "in [0, 1]")
    total = p.sum(axis=1)
    ones = np.ones_like(total)
    assert_close(total, ones, dtype=dtype, terms=x.shape[1], scale=1.0, what="Σ softmax")


def moderate_gap(n_classes: int, dtype: torch.dtype) -> float:
    """log(1/(C·ε)): for a gap G up to it, e^−G/C ≥ ε keeps every output inside (0, 1)."""
    return -math.log(n_classes * torch.finfo(dtype).eps)


@pytest.mark.claim("SM-1")
@given(data=st.data())
def test_sm1_outputs_strictly_inside_for_moderate_gaps(device, dtype, softmax, data):
    """0 < softmax(x) < 1 strictly when the row gap G = max x − min x is ≤ log(1/(C·ε)).

    Every output lies in [e^−G/C, 1 − e^−G/C]; with e^−G/C ≥ ε, the smallest is a normal
    number and the largest stays a full ulp below 1. (float32, C = 6: G ≤ 14.1.) Rows with
    one logit at the top and the others at the bottom, where both bounds are tight, are drawn
    as well as arbitrary ones.
    """
    shape = data.draw(_shapes(max_n=4), label="shape")
    half = moderate_gap(shape[1], dtype) / 2
    if data.draw(st.booleans(), label="one on top"):
        top = np.eye(shape[1])[data.draw(_class_targets((shape[0],), shape[1]), label="top")]
        x = rounded(np.where(top == 1.0, half, -half), dtype)
    else:
        x = rounded(data.draw(_float_arrays(shape, -half, half), label="x"), dtype)
    p = to_numpy(call_or_skip(softmax, to_device(x, device, dtype), dim=1))
    check(
        np.all((p > 0.0) & (p < 1.0)),
        f"outputs at gap {np.ptp(x, axis=1).max()!r}",
        p,
        "in (0, 1)",
    )


def _first_gap_where(softmax, device: str, dtype: torch.dtype, reached) -> float:
    """The smallest G (to the last float64 bit; the row is rounded to the dtype) where
    softmax([0, −G]) satisfies ``reached``, by bisection over [0, 2000], rounded to the dtype."""
    low, high = 0.0, 2000.0

    def hits(gap: float) -> bool:
        p = call_or_skip(softmax, to_device(np.array([[0.0, -gap]]), device, dtype), dim=1)
        return bool(reached(to_numpy(p)))

    check(hits(high), "softmax([0, −2000])", "short of the boundary", "the boundary reached")
    while low < (middle := (low + high) / 2) < high:
        low, high = (low, middle) if hits(middle) else (middle, high)
    return float(rounded(np.array(high), dtype))


@pytest.mark.claim("SM-1")
def test_sm1_outputs_reach_one_and_zero_past_the_boundary(device, dtype, softmax):
    """The open interval closes past two gaps, which this spec measures (row [0, −G]):

    - the largest output is exactly 1 from G between log(2/ε) (the sum 1 + e^−G rounds to
      1) and log(4/ε) (1/(1 + e^−G) rounds to 1, as when computed in float32 and rounded);
    - the smallest is exactly 0 from G between −log(tiny) (subnormals flushed) and
      −log(smallest subnormal / 2) (gradual underflow), G rounded to the dtype.

    Each window is widened by one spacing of the dtype at G, whose rounding the measurement
    includes. A softmax clamped to [δ, 1 − δ] never reaches them.
    """
    info = torch.finfo(dtype)
    log_smallest_subnormal = math.log(info.tiny) + math.log(info.eps)
    windows = {
        "= 1": (lambda p: p[0, 0] == 1.0, math.log(2 / info.eps), math.log(4 / info.eps)),
        "= 0": (
            lambda p: p[0, 1] == 0.0,
            -math.log(info.tiny),
            math.log(2.0) - log_smallest_subnormal,
        ),
    }
    found = []
    for name, (reached, low, high) in windows.items():
        gap = _first_gap_where(softmax, device, dtype, reached)
        at = torch.tensor(high, dtype=dtype)
        spacing = (torch.nextafter(at, torch.tensor(math.inf, dtype=dtype)) - at).item()
        check(
            low - spacing <= gap <= high + spacing,
            f"first G where the output is {name}",
            gap,
            f"in [{low:.4f}, {high:.4f}]",
        )
        found.append(f"{name} from G = {gap:.5g}")
    recording.note(
        f"boundary ({dtype_name(dtype)}): softmax([0, −G]) has an output " + ", ".join(found)
    )


PUBLISHED_SM1 = ([1.0, 2.0, 3.0], ["0.0900", "0.2447", "0.6652"])


@pytest.mark.claim("SM-1")
@F64_F32
def test_sm1_published_example(device, dtype, softmax):
    """softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]."""
    x, published = PUBLISHED_SM1
    p = call_or_skip(softmax, to_device(np.array([x]), device, dtype), dim=1)
    for value, figure in zip(p[0], published, strict=True):
        assert_matches_published(value, figure, what=f"softmax([1, 2, 3]) = {figure}")


@pytest.mark.claim("SM-2")
@given(data=st.data())
def test_sm2_softmax_is_shift_invariant(device, dtype, softmax, log_softmax, data):
    """softmax(x + c) = softmax(x) for a constant c per row, values and gradients w.r.t. x.

    The shift is added in the dtype, so x + c carries a rounding error u·|x + c| that softmax
    passes on with absolute condition 1: the tolerance is the pointwise one (the dtype's own
    epsilon) with condition 1 + max|x + c| + log C, and grows with |c|. log_softmax(x + c) =
    log_softmax(x) as well, to the same absolute error.
    """
    x = _scores(data, dtype, max_kdims=0)
    bound = vs.logit_bound(dtype)
    c = data.draw(_float_arrays((x.shape[0], 1), -bound, bound), "c")
    g = rounded(data.draw(_cotangents(x.shape), label="g"), dtype)
    x_r, c_r = rounded(x, dtype), rounded(c, dtype)
    shifted = rounded(x_r + c_r, dtype)
    kw = {"terms": x.size, "condition": logsumexp_condition(shifted), "pointwise": True}
    sides = {
        "softmax": (softmax, oracles.softmax(x_r, axis=1), oracles.softmax_vjp(x_r, g, axis=1)),
        "log_softmax": (
            log_softmax,
            oracles.log_softmax(x_r, axis=1),
            oracles.log_softmax_vjp(x_r, g, axis=1),
        ),
    }
    for name, (fn, expected, expected_grad) in sides.items():

        def of_shifted(scores, shift, fn=fn):
            return fn(scores + shift, dim=1)

        inputs = [to_device(x_r, device, dtype), to_device(c_r, device, dtype)]
        value, grad = value_and_grad(of_shifted, inputs, cotangent=g)
        grad_scale = float(np.max(np.sum(np.abs(g), axis=1)))
        assert_close(value, expected, dtype=dtype, scale=1.0, **kw, what=f"{name}(x + c) value")
        assert_close(grad, expected_grad, dtype=dtype, scale=grad_scale, **kw, what=f"{name} grad")


def tutorial_softmax(x, dim=1):
    """The tutorial implementation: exp(x) / Σ exp(x), without subtracting the max."""
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def exp_range(dtype: torch.dtype) -> tuple[float, float]:
    """(log of the smallest subnormal / 2, log of the largest finite): where exp neither
    underflows to 0 nor overflows to inf in ``dtype``."""
    info = torch.finfo(dtype)
    return math.log(info.tiny) + math.log(info.eps) - math.log(2.0), math.log(info.max)


# Rows are drawn with C ≤ MAX_CLASSES and their max kept MARGIN inside (or outside) a range,
# more than the dtype's spacing there (bfloat16: 0.5 at 90), so rounding cannot cross it.
MAX_CLASSES, MARGIN = 6, 1.0


def _rows_with_max(data, dtype, low: float, high: float) -> np.ndarray:
    """Logit rows (N, C) whose max is drawn from [low, high], the rest below it."""
    shape = data.draw(_shapes(max_n=4, max_c=MAX_CLASSES), label="shape")
    x = data.draw(_logits(shape, vs.logit_bound(dtype)), label="x")
    top = data.draw(_float_arrays((shape[0], 1), low, high), "max")
    return rounded(x - x.max(axis=1, keepdims=True) + top, dtype)


@pytest.mark.claim("SM-2")
@given(data=st.data())
def test_sm2_tutorial_softmax_matches_inside_the_exp_range(device, dtype, data):
    """Inside the range of exp, the tutorial exp(x)/Σexp(x) is right: for rows whose max lies
    in [log(tiny), log(largest finite) − log C] (one unit inside; float32: max x from −86.3 to
    85.9) it matches the oracle."""
    low = math.log(torch.finfo(dtype).tiny) + MARGIN
    high = exp_range(dtype)[1] - math.log(MAX_CLASSES) - MARGIN
    x = _rows_with_max(data, dtype, low, high)
    value = call_or_skip(tutorial_softmax, to_device(x, device, dtype))
    expected = oracles.softmax(x, axis=1)
    assert_close(value, expected, dtype=dtype, terms=x.shape[1], scale=1.0, what="tutorial softmax")


@pytest.mark.claim("SM-2")
@given(data=st.data())
def test_sm2_tutorial_softmax_is_nan_outside_the_exp_range(device, dtype, softmax, data):
    """Past the range of exp the tutorial softmax is NaN and ``softmax`` is not.

    Rows whose max is above log(largest finite) overflow to inf/inf; rows whose max is below
    log(smallest subnormal / 2) underflow to 0/0. The softmax under test subtracts the max and
    matches the oracle on the same rows.
    """
    underflow, overflow = exp_range(dtype)
    bound = vs.logit_bound(dtype)
    sides = [(overflow + MARGIN, bound), (-bound, underflow - MARGIN)]
    x = _rows_with_max(data, dtype, *data.draw(st.sampled_from(sides), label="side"))
    naive = to_numpy(call_or_skip(tutorial_softmax, to_device(x, device, dtype)))
    check(np.isnan(naive).any(axis=1).all(), f"tutorial softmax on {x}", naive, "NaN in every row")
    p = call_or_skip(softmax, to_device(x, device, dtype), dim=1)
    assert_close(
        p,
        oracles.softmax(x, axis=1),
        dtype=dtype,
        terms=x.shape[1],
        scale=1.0,
        what="softmax past exp's range",
    )


@pytest.mark.claim("SM-2")
@pytest.mark.dtypes(torch.float32)
def test_sm2_tutorial_softmax_is_nan_for_100_0_where_softmax_gives_1_0(device, dtype, softmax):
    """The documented case: in float32, exp(100) = inf, so the tutorial softmax of [100, 0]
    is [NaN, 0]; ``softmax`` gives [1, 0] (the oracle's [1, 3.7e-44], to float32 rounding)."""
    x = to_device(np.array([[100.0, 0.0]]), device, dtype)
    naive = to_numpy(tutorial_softmax(x))
    check(np.isnan(naive[0, 0]) and naive[0, 1] == 0.0, "tutorial softmax", naive, "[[nan, 0]]")
    p = call_or_skip(softmax, x, dim=1)
    assert_close(p, np.array([[1.0, 0.0]]), dtype=dtype, terms=2, scale=1.0, what="[1, 0]")
    expected = oracles.softmax(np.array([[100.0, 0.0]]), axis=1)
    assert_close(p, expected, dtype=dtype, terms=2, scale=1.0, what="softmax([100, 0])")
    recording.note("counterexample: float32 tutorial softmax([100, 0]) = [nan, 0]; softmax: [1, 0]")
