"""Cross-entropy family: CE-1 (headline), CE-2 … CE-9.

Every test takes its implementations as arguments named after contracts (``cross_entropy``,
``nll_loss``, ``log_softmax``, ``softmax``, ``kl_div``); the verify plugin supplies the torch
functional and module forms, and ``tests/test_planted_cross_entropy.py`` calls the same tests
with the planted bugs of ``tests/planted_cross_entropy.py``.

Where a spec runs in fewer dtypes than all four, its decorator says so and its docstring why:
the suite's time budget is spent where a dtype can change the outcome.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from specs.classification_draws import unweighted_rows
from specs.oracle_checks import Expected, assert_each_matches_oracle
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip, value_and_grad
from verify.checks import check, check_differs, check_gradients, check_pairs
from verify.devices import dtype_name, params_rounded, params_to_device, rounded, to_device
from verify.oracles.reduction import REDUCTIONS, reduce
from verify.tolerances import (
    assert_close,
    assert_matches_published,
    logsumexp_condition,
    loss_scale,
)


def nll_of_log_softmax(nll_loss, log_softmax):
    """The composite NLLLoss(LogSoftmax(x), y) of two implementations."""

    def composite(scores, target, **params):
        return nll_loss(log_softmax(scores, dim=1), target, **params)

    return composite


def assert_sides_match_the_oracle(sides, case: vs.LossCase, device, dtype: torch.dtype) -> None:
    """Each ``fn(scores, target, **params)`` of ``sides`` (name → fn) against the float64
    CrossEntropyLoss oracle of ``case``, values and gradients (on the rounded inputs)."""
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    params = params_to_device(case.params, device, dtype)
    cotangent = rounded(case.cotangent, dtype)

    scores, ref_params = rounded(case.scores, dtype), params_rounded(case.params, dtype)
    expected = Expected(
        oracles.cross_entropy(scores, case.target, **ref_params),
        oracles.cross_entropy_vjp(scores, case.target, cotangent, **ref_params),
        loss_scale(params["reduction"], case.target.size, ref_params.get("weight")),
        oracles.cross_entropy_gradient_bound(scores, case.target, cotangent, **ref_params),
    )
    tolerance = {"terms": max(scores.size, 1), "condition": logsumexp_condition(scores)}
    checked = {name: (fn, [x, y], expected) for name, fn in sides.items()}
    assert_each_matches_oracle(
        checked, cotangent=cotangent, dtype=dtype, tolerance=tolerance, **params
    )


@pytest.mark.claim("CE-1")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_ce1_cross_entropy_equals_nll_of_log_softmax(
    device, dtype, reduction, cross_entropy, nll_loss, log_softmax, data
):
    """CrossEntropyLoss(x, y) = NLLLoss(LogSoftmax(x), y), values and gradients.

    Over every reduction, class weights spanning four orders of magnitude, ignore_index (the
    default −100 or a real class; all positions ignored included), empty batches and
    K-dimensional inputs (N, C, d1, d2). Both sides are held to the float64 oracle of the
    definition, so the equality cannot pass by both being wrong the same way.
    """
    case = data.draw(vs.classification_cases(dtype, reduction=reduction), label="case")
    sides = {
        "CrossEntropyLoss": cross_entropy,
        "NLLLoss(LogSoftmax)": nll_of_log_softmax(nll_loss, log_softmax),
    }
    assert_sides_match_the_oracle(sides, case, device, dtype)


@pytest.mark.claim("CE-1")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_ce1_gradcheck(device, dtype, cross_entropy, nll_loss, log_softmax, data):
    """Both sides of CE-1 pass ``torch.autograd.gradcheck`` (finite differences, float64)."""
    case = data.draw(
        vs.classification_cases(dtype, min_n=1, max_n=3, max_c=4, max_kdims=1), label="case"
    )
    assume(np.all(np.isfinite(oracles.cross_entropy(case.scores, case.target, **case.params))))
    x = to_device(case.scores, device, dtype, requires_grad=True)
    y = to_device(case.target, device)
    params = params_to_device(case.params, device, dtype)
    for fn in (cross_entropy, nll_of_log_softmax(nll_loss, log_softmax)):
        check_gradients(lambda s, fn=fn: fn(s, y, **params), [x], what="CE-1 sides")


# --- shared helpers -------------------------------------------------------------------------

# The reductions of specs whose claim is about per-position terms and a normalization: 'none'
# checks every position's term and 'mean' the denominator; 'sum' adds the same terms without
# a denominator (CE-1 checks every reduction of the same implementations).
TERMS_AND_MEAN = ("none", "mean")


def positions_as_rows(array: np.ndarray) -> np.ndarray:
    """(N, C, d1, …, dk) → (N·d1·…·dk, C): one row of class scores per position."""
    return np.moveaxis(array, 1, -1).reshape(-1, array.shape[1])


def _shortfall(larger: np.ndarray, smaller: np.ndarray) -> np.ndarray:
    """min(larger − smaller, 0): zero exactly where ``larger ≥ smaller``.

    An inequality a ≥ b is asserted as ``assert_close(_shortfall(a, b), 0)``: it passes when b
    exceeds a by no more than the rounding error the tolerance module derives.
    """
    return np.minimum(np.asarray(larger, dtype=np.float64) - smaller, 0.0)


# --- CE-2: softmax, then log, then NLL ------------------------------------------------------


def log_of_softmax_then_nll(softmax, nll_loss):
    """Softmax, then log, then NLL: the "log loss" −mean log p[y] of the tutorials."""

    def composite(scores, target, **params):
        return nll_loss(torch.log(softmax(scores, dim=1)), target, **params)

    return composite


def smallest_subnormal(dtype: torch.dtype) -> float:
    """The smallest positive number of ``dtype``: tiny·eps (2^-149 for float32, 2^-1074 float64).

    The same as NumPy's ``finfo(...).smallest_subnormal`` for float64, float32 and float16.
    """
    info = torch.finfo(dtype)
    return info.tiny * info.eps


def underflow_gap(dtype: torch.dtype) -> float:
    """−log(s/2), s the smallest subnormal: past this logit gap exp(−gap) rounds to 0.

    103.97 for float32, 745.13 for float64, 17.33 for float16, 92.88 for bfloat16 (whose
    softmax is computed in float32 and rounded).
    """
    return -math.log(smallest_subnormal(dtype)) + math.log(2.0)


def normal_gap(dtype: torch.dtype, n_classes: int) -> float:
    """−log(tiny) − log C: up to this gap within a row, every softmax output is a normal number.

    p_c = exp(x_c − logsumexp(x)) ≥ exp(−gap)/C, so p_c ≥ tiny once gap ≤ −log(tiny) − log C.
    """
    return -math.log(torch.finfo(dtype).tiny) - math.log(n_classes)


@st.composite
def moderate_gap_cases(draw, dtype: torch.dtype, reduction: str) -> vs.LossCase:
    """Classification cases whose rows span at most 0.9·normal_gap (plus rounding), at any offset.

    The offset (up to ``logit_bound``) keeps a softmax without max-subtraction overflowing;
    only the spread within a row is limited.
    """
    case = draw(vs.classification_cases(dtype, reduction=reduction, weights=False), label="case")
    half_width = 0.45 * normal_gap(dtype, case.scores.shape[1])
    bound = vs.logit_bound(dtype)
    magnitudes = [0.0] + [m for m in (10.0, 100.0, 1e3, 1e4) if m < bound] + [bound]
    offset = draw(st.sampled_from(magnitudes), label="offset magnitude") * draw(
        st.sampled_from([-1.0, 1.0]) | st.floats(-1.0, 1.0), label="offset factor"
    )
    spread = draw(vs.logits(case.scores.shape, half_width), label="scores")
    return dataclasses.replace(case, scores=offset + spread)


@pytest.mark.claim("CE-2")
@pytest.mark.dtypes(torch.float32, torch.float16)
@pytest.mark.parametrize("reduction", TERMS_AND_MEAN)
@given(data=st.data())
def test_ce2_log_of_softmax_equals_cross_entropy_for_moderate_gaps(
    device, dtype, reduction, cross_entropy, softmax, nll_loss, data
):
    """Inside the domain: NLL(log(softmax(x)), y) = CE(x, y), values and gradients.

    The domain: in every row, max_c x − min_c x ≤ −log(tiny) − log C (87.3 − log C in float32,
    9.70 − log C in float16), so every softmax output is a normal number and its log is
    accurate; offsets up to ``logit_bound`` (1e4 in float32) are drawn, since only the spread
    matters. Per position and 'mean' (``TERMS_AND_MEAN``), with ignore_index, empty batches and
    K-dimensional inputs; without
    class weights, whose upstream gradient w/p would overflow float16 before p leaves the normal
    range. float32 and float16 run it (the two dtypes whose ranges the tutorials' ~104 and the
    half-precision boundary come from); float64 and bfloat16 share their boundary formulas and
    are covered by ``test_ce2_underflow_boundary_is_set_by_the_smallest_subnormal``.
    """
    case = data.draw(moderate_gap_cases(dtype, reduction), label="moderate case")
    sides = {
        "CrossEntropyLoss": cross_entropy,
        "NLLLoss(log(Softmax))": log_of_softmax_then_nll(softmax, nll_loss),
    }
    assert_sides_match_the_oracle(sides, case, device, dtype)
    recording.note(
        f"domain ({dtype_name(dtype)}): equal while every row's logit gap ≤ −log(tiny) − log C "
        f"= {normal_gap(dtype, 1):.4g} − log C"
    )


@st.composite
def underflowing_cases(draw, dtype: torch.dtype) -> tuple[vs.LossCase, np.ndarray]:
    """Cases (reduction 'none') in which some rows hold their target logit far below the row max.

    At least the first row, and any other drawn, get a gap between −log(s/4) + 4 and that
    + 100 (s the smallest subnormal of ``dtype``), a margin that survives rounding to the dtype.
    Returns the case and the mask of rows whose rounded gap is ≥ −log(s/4).
    """
    case = draw(unweighted_rows(dtype, "none", min_n=1), label="case")
    scores, target = case.scores.copy(), case.target
    threshold = underflow_gap(dtype) + math.log(2.0)
    chosen = draw(vs.masks((scores.shape[0],)), label="rows")
    chosen[0] = True
    for i in np.flatnonzero(chosen):
        others = np.delete(scores[i], target[i])
        gap = draw(st.floats(threshold + 4.0, threshold + 104.0), label=f"gap {i}")
        scores[i, target[i]] = np.max(others) - gap
    rows = np.arange(scores.shape[0])
    kept = rounded(scores, dtype)
    underflowed = np.max(kept, axis=1) - kept[rows, target] >= threshold
    assume(np.all(underflowed[chosen]))
    return dataclasses.replace(case, scores=scores), underflowed


@pytest.mark.claim("CE-2")
@pytest.mark.dtypes(torch.float32, torch.float16)
@given(data=st.data())
def test_ce2_log_of_softmax_underflows_past_the_boundary(
    device, dtype, cross_entropy, softmax, nll_loss, data
):
    """Outside the domain: where x_max − x_y > −log(s/4), log(softmax) is −inf; CE stays exact.

    s is the dtype's smallest subnormal. There softmax(x)_y rounds to 0, so NLL(log(softmax))
    is +inf and its gradient NaN (∞·0 in the softmax backward), while CrossEntropyLoss keeps
    the finite value (≈ the gap) and gradient of the float64 oracle. float32 and float16; float64
    (gap 745) and bfloat16 (93) are covered at their boundary by
    ``test_ce2_underflow_boundary_is_set_by_the_smallest_subnormal`` (bfloat16's logit spacing
    at these gaps, 2 and more, is as coarse as the margin drawn here).
    """
    case, underflowed = data.draw(underflowing_cases(dtype), label="underflowing case")
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    cotangent = rounded(case.cotangent, dtype)
    scores = rounded(case.scores, dtype)

    condition, terms = logsumexp_condition(scores), scores.size
    assert_value_and_gradient(
        cross_entropy,
        [x, y],
        oracles.cross_entropy(scores, case.target, reduction="none"),
        oracles.cross_entropy_vjp(scores, case.target, cotangent, reduction="none"),
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"terms": terms, "condition": condition},
        grad_tolerance={
            "terms": terms,
            "condition": condition,
            "scale": oracles.cross_entropy_gradient_bound(
                scores, case.target, cotangent, reduction="none"
            ),
        },
        what="CrossEntropyLoss",
        reduction="none",
    )

    composite = log_of_softmax_then_nll(softmax, nll_loss)
    value, grad = value_and_grad(composite, [x, y], cotangent=cotangent, reduction="none")
    value = value.to("cpu", torch.float64).numpy()
    rows = np.flatnonzero(underflowed)
    check(
        np.all(np.isposinf(value[underflowed])),
        f"NLLLoss(log(Softmax)) on the underflowed rows {rows}",
        value[underflowed],
        "+inf",
    )
    check(
        not np.any(np.all(np.isfinite(grad[underflowed]), axis=1)),
        f"NLLLoss(log(Softmax)) gradient on the underflowed rows {rows}",
        grad[underflowed],
        "a non-finite entry in every row",
    )


def assert_cross_entropy_at(
    cross_entropy,
    inputs,
    scores: np.ndarray,
    target,
    dtype: torch.dtype,
    what: str = "CrossEntropyLoss",
) -> torch.Tensor:
    """CrossEntropyLoss(*inputs) and its gradient (cotangent 1) against the float64 oracle at
    ``scores``, ``target``, under the log-sum-exp condition; returns the value."""
    condition = {"condition": logsumexp_condition(scores)}
    value, _ = assert_value_and_gradient(
        cross_entropy,
        inputs,
        oracles.cross_entropy(scores, target),
        oracles.cross_entropy_vjp(scores, target),
        cotangent=1.0,
        dtype=dtype,
        value_tolerance=condition,
        grad_tolerance=condition,
        what=what,
    )
    return value


def _first_broken_gap(broken, dtype: torch.dtype, high: float) -> float:
    """The smallest gap (a ``dtype`` value in (0, high]) at which ``broken(gap)`` holds.

    Bisection over float64 gaps rounded to ``dtype``; ``broken`` must be monotone and hold at
    ``high``.
    """
    as_dtype = lambda g: float(rounded(np.array(g), dtype))  # noqa: E731
    low, high = 0.0, as_dtype(high)
    check(broken(high), f"log(softmax) at a gap of {high}", "intact", "broken")
    check(not broken(low), "log(softmax) at a gap of 0", "broken", "intact")
    for _ in range(200):
        middle = as_dtype(0.5 * (low + high))
        if middle in (low, high):
            break
        low, high = (low, middle) if broken(middle) else (middle, high)
    return high


@pytest.mark.claim("CE-2")
def test_ce2_underflow_boundary_is_set_by_the_smallest_subnormal(
    device, dtype, cross_entropy, softmax, nll_loss
):
    """The boundary, found by bisection on x = [0, −gap], y = 1, against −log(s/2).

    A faithfully rounded exp returns 0 only below s (so the first broken gap is ≥ −log s) and
    a correctly rounded one below s/2 (so it is ≈ −log(s/2)); the spec accepts the window
    [−log s, −log(s/4)]. The composite's gradient breaks earlier, once 1/p overflows
    (gap ≈ log(max)); CrossEntropyLoss at the boundary equals the float64 oracle (≈ the gap).
    """
    composite = log_of_softmax_then_nll(softmax, nll_loss)
    target = to_device(np.array([1]), device)

    def at(gap):
        x = to_device(np.array([[0.0, -gap]]), device, dtype)
        return value_and_grad(composite, [x, target], cotangent=1.0)

    log_s = math.log(smallest_subnormal(dtype))
    high = 2.0 * underflow_gap(dtype)
    value_boundary = _first_broken_gap(lambda g: not math.isfinite(float(at(g)[0])), dtype, high)
    grad_boundary = _first_broken_gap(lambda g: not np.all(np.isfinite(at(g)[1])), dtype, high)
    name = dtype_name(dtype)
    check(
        -log_s <= value_boundary <= -log_s + math.log(4.0),
        f"{name}: gap where log(softmax) underflows",
        value_boundary,
        f"in [−log s, −log(s/4)] = [{-log_s:.6g}, {-log_s + math.log(4.0):.6g}]",
    )
    check(
        grad_boundary <= value_boundary,
        f"{name}: gap where the composite's gradient breaks",
        grad_boundary,
        f"at most the value's {value_boundary}",
    )

    scores = np.array([[0.0, -value_boundary]])
    inputs = [to_device(scores, device, dtype), target]
    at_boundary = "CrossEntropyLoss at the boundary"
    assert_cross_entropy_at(cross_entropy, inputs, scores, np.array([1]), dtype, at_boundary)
    recording.note(
        f"boundary ({name}): log(softmax) underflows to −inf from logit gap "
        f"{value_boundary:.6g} (−log(s/2) = {underflow_gap(dtype):.6g}, s = smallest subnormal "
        f"{smallest_subnormal(dtype):.3g}); its gradient is non-finite from gap "
        f"{grad_boundary:.5g} (1/p overflows, log(max) = {math.log(torch.finfo(dtype).max):.5g})"
    )


@pytest.mark.claim("CE-2")
@pytest.mark.dtypes(torch.float32)
def test_ce2_regression_gap_of_110_in_float32(device, dtype, cross_entropy, softmax, nll_loss):
    """The published case: logits [0, −110], target 1, float32: log(softmax) gives −inf, CE 110."""
    scores, target = np.array([[0.0, -110.0]]), np.array([1])
    x, y = to_device(scores, device, dtype), to_device(target, device)
    composite, composite_grad = value_and_grad(
        log_of_softmax_then_nll(softmax, nll_loss), [x, y], cotangent=1.0
    )
    check(math.isinf(float(composite)), "NLLLoss(log(Softmax))", float(composite), "inf")
    check(
        not np.any(np.isfinite(composite_grad)),
        "NLLLoss(log(Softmax)) gradient",
        composite_grad,
        "no finite entry",
    )

    value = assert_cross_entropy_at(cross_entropy, [x, y], scores, target, dtype)
    assert_matches_published(value, "110", what="CrossEntropyLoss([0, −110], 1)")
    recording.note(
        f"counterexample (float32): logits [0, −110], target 1: NLL(log(softmax)) = inf with "
        f"NaN gradient, CE = {float(value):.6g}"
    )


# --- CE-3: the NumPy tutorial cross-entropy -------------------------------------------------


def tutorial_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """The NumPy cross-entropy of the tutorials, the thing under claim, with its gradient.

    shifted = x − max_c x;  log p = shifted − log Σ_c exp(shifted)
    loss = −mean_i log p[i, y_i];  gradient = (p − onehot(y)) / N
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(logits.shape[0])
    loss = -np.mean(log_p[rows, targets])
    gradient = np.exp(log_p)
    gradient[rows, targets] -= 1.0
    return float(loss), gradient / logits.shape[0]


TUTORIALS = pytest.mark.parametrize("tutorial", [tutorial_cross_entropy], ids=["numpy"])


@pytest.mark.claim("CE-3")
@pytest.mark.dtypes(torch.float64, torch.float32)
@TUTORIALS
@given(data=st.data())
def test_ce3_numpy_tutorial_matches_pytorch(device, dtype, tutorial, cross_entropy, data):
    """CrossEntropyLoss (mean) = the max-subtracting NumPy tutorial, values and gradients.

    The tutorial runs in float64 on the rounded inputs; logits reach ``logit_bound`` (1e4 in
    float32), far past exp's overflow, where only the max-subtraction keeps it finite. float64
    and float32, the dtypes a NumPy tutorial is compared in.
    """
    case = data.draw(unweighted_rows(dtype, "mean", min_n=1), label="case")
    scores = rounded(case.scores, dtype)
    expected, expected_grad = tutorial(scores, case.target)
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    condition, terms = logsumexp_condition(scores), scores.size
    assert_value_and_gradient(
        cross_entropy,
        [x, y],
        expected,
        expected_grad,
        cotangent=1.0,
        dtype=dtype,
        value_tolerance={"terms": terms, "condition": condition, "scale": 1.0},
        grad_tolerance={
            "terms": terms,
            "condition": condition,
            "scale": oracles.cross_entropy_gradient_bound(scores, case.target),
        },
        what="CrossEntropyLoss vs the NumPy tutorial,",
    )


EXAMPLE_CE3 = ([[2.0, 1.0, 0.1], [1.0, 0.2, 1.5]], [0, 2], "0.5239")


@pytest.mark.claim("CE-3")
@pytest.mark.dtypes(torch.float64, torch.float32)
@TUTORIALS
def test_ce3_published_example(device, dtype, tutorial, cross_entropy):
    """The tutorial and CrossEntropyLoss both give 0.5239 on the published example."""
    scores, target, published = EXAMPLE_CE3
    x, y = to_device(np.array(scores), device, dtype), to_device(np.array(target), device)
    tutorial_value, _ = tutorial(rounded(np.array(scores), dtype), np.array(target))
    assert_matches_published(tutorial_value, published, what="NumPy tutorial")
    assert_matches_published(call_or_skip(cross_entropy, x, y), published, what="CrossEntropyLoss")


# --- CE-4: the published example -------------------------------------------------------------


EXAMPLE_CE4 = ([[10.0, 0.0, -10.0], [8.0, 8.0, 8.0]], [0, 2], "0.5493")


@pytest.mark.claim("CE-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_ce4_published_example(device, dtype, cross_entropy, nll_loss, log_softmax, kl_div):
    """CE = NLL(LogSoftmax) = KLDiv(LogSoftmax, one-hot, 'batchmean') = 0.5493 on the example."""
    scores, target, published = EXAMPLE_CE4
    x = to_device(np.array(scores), device, dtype)
    y = to_device(np.array(target), device)
    one_hot = to_device(np.eye(3)[target], device, dtype)
    values = {
        "CrossEntropyLoss": call_or_skip(cross_entropy, x, y),
        "NLLLoss(LogSoftmax)": call_or_skip(nll_of_log_softmax(nll_loss, log_softmax), x, y),
        "KLDivLoss(LogSoftmax, one-hot, batchmean)": call_or_skip(
            kl_div, log_softmax(x, dim=1), one_hot, reduction="batchmean"
        ),
    }
    for name, value in values.items():
        assert_matches_published(value, published, what=name)


# --- CE-5: CrossEntropyLoss on probabilities ------------------------------------------------


def cross_entropy_of_softmax(cross_entropy, softmax):
    """x ↦ CE(softmax(x), y): probabilities fed where logits are expected."""

    def composite(scores, target, **params):
        return cross_entropy(softmax(scores, dim=1), target, **params)

    return composite


def probability_floor(n_classes: int) -> float:
    """log(1 + (C − 1)/e): the least value of CE(p, y) over probability vectors p.

    CE(p, y) = log Σ_c e^{p_c} − p_y is convex in p; on the simplex its directional derivative
    at p = e_y towards any q is (1 − q_y)·(1 − (e − 1)/(e + C − 1)) ≥ 0, so the minimum is at
    e_y: log(e + C − 1) − 1.
    """
    return math.log1p((n_classes - 1) / math.e)


def _cross_entropy_of_softmax_oracle(scores, target, cotangent, reduction):
    """Value and gradient of x ↦ CE(softmax(x), y) by the chain rule through the oracles."""
    p = oracles.softmax(scores, axis=1)
    value = oracles.cross_entropy(p, target, reduction=reduction)
    upstream = oracles.cross_entropy_vjp(p, target, cotangent, reduction=reduction)
    return value, oracles.softmax_vjp(scores, upstream, axis=1)


@st.composite
def confident_cases(draw, dtype: torch.dtype, reduction: str) -> tuple[vs.LossCase, np.ndarray]:
    """(N, C) cases, up to C = 10, where each row is as drawn (0), confidently right (1) or
    confidently wrong (2): its target (or another class) 40 to 100 above the rest of the row.

    A margin of 40 puts the other classes below e^-40 ≈ 4e-18 of the top one.
    """
    case = draw(unweighted_rows(dtype, reduction, min_n=1, max_c=10), label="case")
    scores = draw(vs.logits(case.scores.shape, 100.0), label="scores")
    n, n_classes = scores.shape
    kinds = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)), label="kinds")
    for i in np.flatnonzero(kinds):
        top = case.target[i] if kinds[i] == 1 else (case.target[i] + 1) % n_classes
        margin = draw(st.floats(40.0, 100.0), label=f"margin {i}")
        scores[i, top] = np.max(np.delete(scores[i], top)) + margin
    return dataclasses.replace(case, scores=scores), kinds


@pytest.mark.claim("CE-5")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_ce5_cross_entropy_of_probabilities_is_a_different_function(
    device, dtype, cross_entropy, softmax
):
    """On the CE-3 example row x = [2, 1, 0.1], y = 0: CE(softmax(x), y) ≠ CE(x, y).

    Both are computed by the implementations and each matches its own float64 oracle; their
    values (0.417 against 0.802) and gradients differ far beyond rounding.
    """
    scores, target = np.array([[2.0, 1.0, 0.1]]), np.array([0])
    x, y = to_device(scores, device, dtype), to_device(target, device)
    condition = logsumexp_condition(scores)
    value, grad = value_and_grad(cross_entropy, [x, y], cotangent=1.0)
    composite, composite_grad = value_and_grad(
        cross_entropy_of_softmax(cross_entropy, softmax), [x, y], cotangent=1.0
    )
    expected_composite, expected_composite_grad = _cross_entropy_of_softmax_oracle(
        scores, target, 1.0, "mean"
    )
    checks = [
        (value, oracles.cross_entropy(scores, target), "CE(x, y) value"),
        (grad, oracles.cross_entropy_vjp(scores, target), "CE(x, y) gradient"),
        (composite, expected_composite, "CE(softmax(x), y) value"),
        (composite_grad, expected_composite_grad, "CE(softmax(x), y) gradient"),
    ]
    for actual, expected, what in checks:
        assert_close(actual, expected, dtype=dtype, condition=condition, scale=1.0, what=what)
    for what, a, b in (("values", composite, value), ("gradients", composite_grad, grad)):
        check_differs(
            a,
            b,
            f"CE(softmax(x), y) against CE(x, y), {what}",
            dtype=dtype,
            condition=condition,
            scale=1.0,
        )
    recording.note(
        f"example: x = [2, 1, 0.1], y = 0: CE = {float(value):.4g}, "
        f"CE(softmax(x)) = {float(composite):.4g}"
    )


def _assert_at_or_above_the_floor(
    composite: torch.Tensor, kinds: np.ndarray, n_classes: int, *, dtype: torch.dtype, terms: int
) -> None:
    """Per row, CE(softmax(x), y) is never below log(1 + (C − 1)/e), and equals it on the
    confidently right rows (``kinds == 1``)."""
    composite = composite.to("cpu", torch.float64).numpy()
    floor = np.full(composite.shape, probability_floor(n_classes))
    assert_close(
        _shortfall(composite, floor),
        np.zeros_like(floor),
        dtype=dtype,
        terms=terms,
        scale=floor[0],
        what=f"CE(softmax(x), y) − log(1 + (C − 1)/e), C = {n_classes}, where negative",
    )
    confident = kinds == 1
    assert_close(
        composite[confident],
        floor[confident],
        dtype=dtype,
        terms=terms,
        scale=floor[0],
        what="CE(softmax(x), y) of confidently right rows vs the floor",
    )


@pytest.mark.claim("CE-5")
@pytest.mark.dtypes(torch.float32)
@given(data=st.data())
def test_ce5_loss_on_probabilities_never_falls_below_the_floor(
    device, dtype, cross_entropy, softmax, data
):
    """CE(softmax(x), y) ≥ log(1 + (C − 1)/e) for every x, and tends to it, not to 0.

    Per position (reduction 'none'), values and gradients of the composite against its float64
    oracle; confidently right rows (target 40+ above the rest) give the floor itself while
    CE(x, y) there is ≈ 0. The floor is derived (``probability_floor``); the published 1.46
    for C = 10 checks the formula. float32, the dtype models are trained in (the floor itself
    does not depend on the dtype).
    """
    assert_matches_published(probability_floor(10), "1.46", what="log(1 + 9/e)")
    case, kinds = data.draw(confident_cases(dtype, "none"), label="confident case")
    scores = rounded(case.scores, dtype)
    cotangent = rounded(case.cotangent, dtype)
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    composite, composite_grad = value_and_grad(
        cross_entropy_of_softmax(cross_entropy, softmax),
        [x, y],
        cotangent=cotangent,
        reduction="none",
    )
    expected, expected_grad = _cross_entropy_of_softmax_oracle(
        scores, case.target, cotangent, "none"
    )
    condition, terms = logsumexp_condition(scores), scores.size
    assert_close(
        composite, expected, dtype=dtype, terms=terms, condition=condition, what="CE(softmax)"
    )
    assert_close(
        composite_grad,
        expected_grad,
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=float(np.max(np.abs(cotangent))),
        what="CE(softmax) gradient",
    )
    _assert_at_or_above_the_floor(composite, kinds, scores.shape[1], dtype=dtype, terms=terms)
    value = call_or_skip(cross_entropy, x, y, reduction="none")
    # Scale 1 (a per-position loss), not the largest expected value: CE = logsumexp(x) − x_y
    # carries an absolute error of ε·condition whatever its size, so a batch of only confident
    # rows (CE ≈ 1e-11, which float32 computes as log(1 + 1e-11) = 0) is held to that.
    assert_close(
        value,
        oracles.cross_entropy(scores, case.target, reduction="none"),
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=loss_scale("none", terms),
        what="CE(x, y)",
    )
    recording.note(
        "floor: CE(softmax(x), y) ≥ log(1 + (C − 1)/e) (1.461 for C = 10), reached when the "
        "model is right and confident, where CE(x, y) → 0"
    )


_PROVED_MINUS_NORM = "min(1/2, 2(1 − max p))·‖s − e_y‖ − ‖∇ CE(softmax(x))‖"


def _proved_gradient_bound(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row, min(1/2, 2(1 − max_c p_c))·‖s − e_y‖ with p = softmax(x), s = softmax(p)."""
    rows = np.arange(scores.shape[0])
    p = oracles.softmax(scores, axis=1)
    s = oracles.softmax(p, axis=1)
    s[rows, target] -= 1.0
    top = np.argmax(p, axis=1)
    beside_top = np.sum(np.where(np.arange(p.shape[1]) == top[:, None], 0.0, p), axis=1)
    return np.minimum(0.5, 2.0 * beside_top) * np.linalg.norm(s, axis=1)


@pytest.mark.claim("CE-5")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_ce5_gradients_shrink(device, dtype, cross_entropy, softmax, data):
    """Per row, ‖∇_x CE(softmax(x), y)‖ ≤ ‖∇_x CE(x, y)‖; it vanishes when confidently wrong.

    With p = softmax(x), s = softmax(p) and J = diag(p) − ppᵀ, ∇_x CE(x, y) = p − e_y and
    ∇_x CE(softmax(x), y) = J(s − e_y). Proved: vᵀJv = Var_p(v) ≤ Σ_i p_i (v_i − v_k)² ≤
    2(1 − p_k)‖v‖² for every k, and ≤ ‖v‖²/2 (Popoviciu), so
    ‖∇ CE(softmax(x))‖ ≤ min(1/2, 2(1 − max_c p_c))·‖s − e_y‖: it tends to 0 as the model
    grows confident, and when it is confidently wrong ‖∇ CE(x)‖ ≥ max_c p_c → 1 stays large.
    Measured (float64 searches over C = 2 … 50, asserted here on every drawn row): the ratio
    of the two norms stays below 1; its supremum is C/(e + C − 1) (the confidently right
    limit, 0.853 for C = 10) for C ≥ 4, 0.567 for C = 2 and 0.636 for C = 3. Gradients from the
    implementations (reduction 'sum', one row per position), each also against its oracle;
    float64, where the inequality is resolved down to gradients of 1e-16.
    """
    case, _ = data.draw(confident_cases(dtype, "sum"), label="confident case")
    scores = rounded(case.scores, dtype)
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    _, grad = value_and_grad(cross_entropy, [x, y], cotangent=1.0, reduction="sum")
    _, composite_grad = value_and_grad(
        cross_entropy_of_softmax(cross_entropy, softmax), [x, y], cotangent=1.0, reduction="sum"
    )
    _, expected_composite_grad = _cross_entropy_of_softmax_oracle(scores, case.target, 1.0, "sum")
    condition, terms = logsumexp_condition(scores), scores.shape[1]
    checks = [
        (grad, oracles.cross_entropy_vjp(scores, case.target, reduction="sum"), "CE(x)"),
        (composite_grad, expected_composite_grad, "CE(softmax(x))"),
    ]
    for actual, expected, what in checks:
        assert_close(
            actual,
            expected,
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=1.0,
            what=f"{what} gradient",
        )
    norm = np.linalg.norm(composite_grad, axis=1)
    for bound, what in (
        (np.linalg.norm(grad, axis=1), "‖∇ CE(x)‖ − ‖∇ CE(softmax(x))‖"),
        (_proved_gradient_bound(scores, case.target), _PROVED_MINUS_NORM),
    ):
        assert_close(
            _shortfall(bound, norm),
            np.zeros_like(norm),
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=1.0,
            what=f"{what}, where negative",
        )
    recording.note(
        "gradients: ‖∇ CE(softmax(x))‖ ≤ ‖∇ CE(x)‖ per row (ratio → C/(e + C − 1) when right "
        "and confident) and ≤ 2(1 − max p)·‖s − e_y‖ → 0 when confidently wrong"
    )


# --- CE-6: label smoothing ------------------------------------------------------------------


def smoothed_targets(target: np.ndarray, n_classes: int, label_smoothing: float) -> np.ndarray:
    """(1 − ε)·onehot(y) + ε/C, with the class axis at position 1."""
    one_hot = np.moveaxis(np.eye(n_classes)[target], -1, 1)
    return (1.0 - label_smoothing) * one_hot + label_smoothing / n_classes


def smoothing_mixture(cross_entropy, log_softmax, label_smoothing: float):
    """x ↦ (1 − ε)·CE(x, y) + ε·mean_c(−log p_c), the reduction applied to both terms."""

    def mixture(scores, target, reduction="mean"):
        uniform = -log_softmax(scores, dim=1).mean(dim=1)
        if reduction == "sum":
            uniform = uniform.sum()
        elif reduction == "mean":
            uniform = uniform.mean()
        hard = cross_entropy(scores, target, reduction=reduction)
        return (1.0 - label_smoothing) * hard + label_smoothing * uniform

    return mixture


def with_label_smoothing(cross_entropy, label_smoothing: float):
    def smoothed(scores, target, **params):
        return cross_entropy(scores, target, label_smoothing=label_smoothing, **params)

    return smoothed


def _soft_target_oracle_pairs(
    scores, soft, cotangent, hard, hard_grad, scales, factor: float = 1.0, **params
) -> list:
    """(soft-target oracle × ``factor``, hard-label oracle, scale, name) for value and gradient."""
    return [
        (oracles.cross_entropy(scores, soft, **params) * factor, hard, scales[0], "value"),
        (
            oracles.cross_entropy_vjp(scores, soft, cotangent, **params) * factor,
            hard_grad,
            scales[1],
            "gradient",
        ),
    ]


def _assert_sides(sides, x, cotangent, dtype, tolerance, scale, **params) -> None:
    """Each side ``name → (fn, target, reference, reference_grad, grad_scale)`` against its
    references, values (within ``scale``) and gradients (within the side's ``grad_scale``)."""
    checked = {
        name: (fn, [x, target], Expected(reference, reference_grad, scale, grad_scale))
        for name, (fn, target, reference, reference_grad, grad_scale) in sides.items()
    }
    assert_each_matches_oracle(
        checked, cotangent=cotangent, dtype=dtype, tolerance=tolerance, **params
    )


def _draw_smoothing_case(data, dtype: torch.dtype, reduction: str, weighted: bool):
    """A (N, C) or (N, C, d1) case, its class weights (rounded to ``dtype``; None unless
    ``weighted``) and ε in [0, 1], drawn in that order."""
    case = data.draw(
        vs.classification_cases(
            dtype, reduction=reduction, weights=False, ignore_index=False, max_kdims=1
        ),
        label="case",
    )
    weight = None
    if weighted:
        n_classes = case.scores.shape[1]
        weight = rounded(data.draw(vs.class_weights(n_classes), label="weight"), dtype)
    return case, weight, data.draw(st.floats(0.0, 1.0), label="label_smoothing")


def _rounded_smoothing_inputs(case: vs.LossCase, eps: float, dtype: torch.dtype):
    """Scores and cotangent rounded to ``dtype``, the exact soft targets (1 − ε)·onehot + ε/C
    and those rounded to ``dtype``."""
    scores, cotangent = rounded(case.scores, dtype), rounded(case.cotangent, dtype)
    exact_soft = smoothed_targets(case.target, case.scores.shape[1], eps)
    return scores, cotangent, exact_soft, rounded(exact_soft, dtype)


def _label_smoothing_oracles(scores, target, cotangent, eps: float, **params):
    """Float64 value and gradient of CE(x, y; label_smoothing=ε), and their scales."""
    value = oracles.cross_entropy(scores, target, label_smoothing=eps, **params)
    grad = oracles.cross_entropy_vjp(scores, target, cotangent, label_smoothing=eps, **params)
    scale = loss_scale(params["reduction"], target.size, params.get("weight"))
    grad_scale = oracles.cross_entropy_gradient_bound(
        scores, target, cotangent, label_smoothing=eps, **params
    )
    return value, grad, scale, grad_scale


@pytest.mark.claim("CE-6")
@pytest.mark.dtypes(torch.float32, torch.float16)
@pytest.mark.parametrize("reduction", TERMS_AND_MEAN)
@given(data=st.data())
def test_ce6_label_smoothing_equals_mixture_and_soft_targets_without_weights(
    device, dtype, reduction, cross_entropy, log_softmax, data
):
    """Without class weights, for every ε in [0, 1], values and gradients:

        CE(x, y; label_smoothing=ε) = (1 − ε)·CE(x, y) + ε·mean_c(−log p_c)
                                    = CE(x, (1 − ε)·onehot(y) + ε/C)

    per position and 'mean', empty batches and K-dimensional inputs (N, C, d1), in float32 and
    float16 (where the soft targets are rounded, and held to their rounded oracle). The first two
    are held to the oracle of label smoothing, the soft-target form to the oracle of its own
    (rounded) targets, and the two oracles to each other in float64.
    """
    case, _, eps = _draw_smoothing_case(data, dtype, reduction, weighted=False)
    scores, cotangent, exact_soft, soft = _rounded_smoothing_inputs(case, eps, dtype)
    expected, expected_grad, scale, grad_scale = _label_smoothing_oracles(
        scores, case.target, cotangent, eps, reduction=reduction
    )
    tolerance = {"terms": max(scores.size, 1), "condition": logsumexp_condition(scores)}
    check_pairs(
        _soft_target_oracle_pairs(
            scores,
            exact_soft,
            cotangent,
            expected,
            expected_grad,
            (scale, grad_scale),
            reduction=reduction,
        ),
        dtype=torch.float64,
        what="oracle identity: soft-target CE = label smoothing, ",
        **tolerance,
    )

    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    hard = (expected, expected_grad, grad_scale)
    sides = {
        "CE(label_smoothing=ε)": (with_label_smoothing(cross_entropy, eps), y, *hard),
        "(1 − ε)·CE + ε·mean_c(−log p_c)": (
            smoothing_mixture(cross_entropy, log_softmax, eps),
            y,
            *hard,
        ),
        "CE(soft targets (1 − ε)·onehot + ε/C)": (
            cross_entropy,
            to_device(soft, device, dtype),
            oracles.cross_entropy(scores, soft, reduction=reduction),
            oracles.cross_entropy_vjp(scores, soft, cotangent, reduction=reduction),
            grad_scale,
        ),
    }
    _assert_sides(sides, x, cotangent, dtype, tolerance, scale, reduction=reduction)


def _hard_over_soft_factor(weight: np.ndarray, target: np.ndarray, reduction: str) -> float:
    """N/Σ_i w_{y_i} for 'mean' (NaN where the sum is 0), else 1."""
    if reduction != "mean":
        return 1.0
    summed = float(np.sum(weight[target]))
    return target.size / summed if summed else math.nan


@pytest.mark.claim("CE-6")
@pytest.mark.dtypes(torch.float64)
@pytest.mark.parametrize("reduction", TERMS_AND_MEAN)
@given(data=st.data())
def test_ce6_with_class_weights_only_the_mean_differs(
    device, dtype, reduction, cross_entropy, data
):
    """With class weights w the hard-label and soft-target forms share their sum, not their mean.

    Per position both are Σ_c w_c·((1 − ε)·[c = y] + ε/C)·(−log p_c), so 'none' and 'sum'
    agree (values and gradients); 'mean' divides the hard-label form by Σ_i w_{y_i} and the
    soft-target form by the number of positions, so hard·Σ_i w_{y_i} = soft·N and the two
    differ unless Σ_i w_{y_i} = N. Each form is held to its oracle, and the relation between
    the oracles is asserted in float64. float64 only: the normalization is exact arithmetic on
    the same sum, so lower precisions add nothing ('sum' is 'none' added up).
    """
    case, weight, eps = _draw_smoothing_case(data, dtype, reduction, weighted=True)
    scores, cotangent, exact_soft, soft = _rounded_smoothing_inputs(case, eps, dtype)
    params = {"reduction": reduction, "weight": weight}
    hard, hard_grad, scale, grad_scale = _label_smoothing_oracles(
        scores, case.target, cotangent, eps, **params
    )
    tolerance = {"terms": max(scores.size, 1), "condition": logsumexp_condition(scores)}
    # In float64: the soft-target form times N/Σ w_y ('mean') or as is equals the hard form.
    factor = _hard_over_soft_factor(weight, case.target, reduction)
    with np.errstate(invalid="ignore"):
        related = _soft_target_oracle_pairs(
            scores, exact_soft, cotangent, hard, hard_grad, (scale, grad_scale), factor, **params
        )
    if not (reduction == "mean" and case.target.size == 0):  # else 0/0 on both sides
        check_pairs(
            related,
            dtype=torch.float64,
            what=f"oracle relation: soft-target ({reduction}) × {factor:.4g} = hard-label, ",
            **tolerance,
        )

    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    sides = {
        "hard labels, label_smoothing=ε": (
            with_label_smoothing(cross_entropy, eps),
            y,
            hard,
            hard_grad,
            grad_scale,
        ),
        "soft targets (1 − ε)·onehot + ε/C": (
            cross_entropy,
            to_device(soft, device, dtype),
            oracles.cross_entropy(scores, soft, **params),
            oracles.cross_entropy_vjp(scores, soft, cotangent, **params),
            oracles.cross_entropy_gradient_bound(scores, soft, cotangent, **params),
        ),
    }
    params = {"reduction": reduction, "weight": to_device(weight, device, dtype)}
    _assert_sides(sides, x, cotangent, dtype, tolerance, scale, **params)


EXAMPLE_CE6_WEIGHTED = ([[2.0, 1.0, 0.1], [1.0, 0.2, 1.5]], [0, 2], [1.0, 2.0, 3.0], 0.1)


@pytest.mark.claim("CE-6")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_ce6_weighted_example_hard_and_soft_means_differ(device, dtype, cross_entropy):
    """The boundary of CE-6's domain on a fixed example: weights [1, 2, 3], ε = 0.1.

    The two 'mean' values differ by the factor N/Σ_i w_{y_i} = 2/4; their 'sum' values agree.
    """
    scores, target, weight, eps = (np.array(v) for v in EXAMPLE_CE6_WEIGHTED)
    eps = float(eps)
    soft = smoothed_targets(target, scores.shape[1], eps)
    x, y = to_device(scores, device, dtype), to_device(target, device)
    q, w = to_device(soft, device, dtype), to_device(weight, device, dtype)
    condition = logsumexp_condition(scores)
    values = {}
    for reduction in ("mean", "sum"):
        hard = call_or_skip(cross_entropy, x, y, weight=w, label_smoothing=eps, reduction=reduction)
        smooth = call_or_skip(cross_entropy, x, q, weight=w, reduction=reduction)
        params = {"weight": weight, "reduction": reduction}
        for what, actual, expected in (
            (
                "hard-label",
                hard,
                oracles.cross_entropy(scores, target, label_smoothing=eps, **params),
            ),
            ("soft-target", smooth, oracles.cross_entropy(scores, soft, **params)),
        ):
            assert_close(
                actual,
                expected,
                dtype=dtype,
                terms=scores.size,
                condition=condition,
                scale=loss_scale(reduction, 2, weight),
                what=f"{what} {reduction}",
            )
        values[reduction] = (float(hard), float(smooth))
    hard_mean, soft_mean = values["mean"]
    check_differs(
        hard_mean,
        soft_mean,
        "weighted hard-label mean against soft-target mean",
        dtype=dtype,
        condition=condition,
    )
    recording.note(
        f"boundary: holds without class weights (every ε in [0, 1], every reduction); with "
        f"weights [1, 2, 3], ε = 0.1 on the CE-3 logits the 'sum' forms agree "
        f"({values['sum'][0]:.4f}) but 'mean' gives {hard_mean:.4f} (hard labels, ÷ Σ w_y) vs "
        f"{soft_mean:.4f} (soft targets, ÷ N)"
    )


# --- CE-7: class-weighted mean ---------------------------------------------------------------


@pytest.mark.claim("CE-7")
@pytest.mark.dtypes(torch.float32, torch.float16)
@given(data=st.data())
def test_ce7_weighted_mean_divides_by_summed_target_weights(device, dtype, cross_entropy, data):
    """'mean' with class weights w = Σ_i w_{y_i}·ℓ_i / Σ_i w_{y_i}, values and gradients.

    The reference divides the weighted sum (the oracle's 'sum') by the summed weight of the
    counted targets, computed here in NumPy: not by N, not by Σ_c w_c. Over ignore_index
    (ignored targets count in neither), empty batches and K-dimensional inputs; float32 and
    float16 (whose kernels accumulate the weighted sum and its denominator in float32).
    """
    case = data.draw(vs.classification_cases(dtype, reduction="mean", weights=False), label="case")
    n_classes = case.scores.shape[1]
    weight = rounded(data.draw(vs.class_weights(n_classes), label="weight"), dtype)
    ignore_index = case.params.get("ignore_index", vs.DEFAULT_IGNORE_INDEX)
    scores, cotangent = rounded(case.scores, dtype), rounded(case.cotangent, dtype)
    kept = case.target != ignore_index
    denominator = float(np.sum(weight[case.target[kept]]))
    params = {"weight": weight, "ignore_index": ignore_index}

    with np.errstate(invalid="ignore", divide="ignore"):
        expected = oracles.cross_entropy(scores, case.target, reduction="sum", **params) / (
            denominator
        )
        expected_grad = oracles.cross_entropy_vjp(
            scores, case.target, cotangent / denominator, reduction="sum", **params
        )
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    value, grad = value_and_grad(
        cross_entropy,
        [x, y],
        cotangent=cotangent,
        weight=to_device(weight, device, dtype),
        ignore_index=ignore_index,
    )
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    assert_close(
        value,
        expected,
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=loss_scale("mean", case.target.size, weight),
        what="weighted mean value",
    )
    if denominator:
        assert_close(
            grad,
            expected_grad,
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=oracles.cross_entropy_gradient_bound(
                scores, case.target, cotangent, reduction="mean", **params
            ),
            what="weighted mean gradient",
        )
    else:
        check(np.all(grad == 0), "gradient with no counted target", grad, 0.0)


@pytest.mark.claim("CE-7")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_ce7_uniform_logits_example(device, dtype, cross_entropy):
    """Equal logits, weights [1, 2, 3], targets [1, 2]: every loss is log 3, so is their mean.

    Dividing the weighted sum 5·log 3 by N = 2 would give 2.5·log 3, by Σ_c w_c = 6 (5/6)·log 3.
    """
    scores, target, weight = np.zeros((2, 3)), np.array([1, 2]), np.array([1.0, 2.0, 3.0])
    value = call_or_skip(
        cross_entropy,
        to_device(scores, device, dtype),
        to_device(target, device),
        weight=to_device(weight, device, dtype),
    )
    assert_close(value, math.log(3.0), dtype=dtype, terms=6, what="weighted mean of log 3")
    for name, wrong in (("N", 2.5 * math.log(3.0)), ("Σ_c w_c", 5.0 / 6.0 * math.log(3.0))):
        check_differs(value, wrong, f"the mean against a division by {name}", dtype=dtype, terms=6)


# --- CE-8: ignore_index ----------------------------------------------------------------------


@st.composite
def ignoring_cases(draw, dtype: torch.dtype, reduction: str, *, min_n: int = 1) -> vs.LossCase:
    """Cases with an ignore_index (−100 or a class), optional weights and label smoothing."""
    shape = draw(vs.shapes(min_n=min_n, max_kdims=2), label="shape")
    n_classes, positions = shape[1], (shape[0], *shape[2:])
    ignore_index = draw(vs.ignore_indices(n_classes), label="ignore_index")
    params = {"reduction": reduction, "ignore_index": ignore_index}
    if draw(st.booleans(), label="weighted"):
        params["weight"] = draw(vs.class_weights(n_classes), label="weight")
    if draw(st.booleans(), label="smoothed"):
        params["label_smoothing"] = draw(st.floats(0.0, 1.0), label="label_smoothing")
    return vs.LossCase(
        scores=draw(vs.logits(shape, vs.logit_bound(dtype)), label="scores"),
        target=draw(vs.class_targets(positions, n_classes, ignore_index), label="target"),
        params=params,
        cotangent=draw(vs.cotangents(positions if reduction == "none" else ()), label="g"),
    )


@pytest.mark.claim("CE-8")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_ce8_ignored_positions_contribute_nothing(device, dtype, reduction, cross_entropy, data):
    """CE with ignored positions = the oracle on the counted positions alone; ignored ones are 0.

    The reference flattens (N, C, d1, d2) to one row per position and keeps only the rows whose
    target is not ignore_index: no ignore machinery at all, so the ignored positions can reach
    neither the sum nor the mean's denominator. With class weights and label smoothing too.
    Exactly: 'none' is 0 at ignored positions, and their gradient is 0 for every class.
    float32: what is claimed is exact arithmetic on masks, the same in every dtype.
    """
    case = data.draw(ignoring_cases(dtype, reduction), label="case")
    params = params_rounded(case.params, dtype)
    sub_params = {k: v for k, v in params.items() if k != "ignore_index"}
    scores, cotangent = rounded(case.scores, dtype), rounded(case.cotangent, dtype)
    kept = (case.target != params["ignore_index"]).ravel()
    rows, targets = positions_as_rows(scores)[kept], case.target.ravel()[kept]
    row_cotangent = cotangent.ravel()[kept] if reduction == "none" else cotangent

    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    value, grad = value_and_grad(
        cross_entropy, [x, y], cotangent=cotangent, **params_to_device(case.params, device, dtype)
    )
    value = value.to("cpu", torch.float64).numpy()
    grad_rows = positions_as_rows(grad)
    counted = value.ravel()[kept] if reduction == "none" else value
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    assert_close(
        counted,
        oracles.cross_entropy(rows, targets, **sub_params),
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=loss_scale(reduction, case.target.size, params.get("weight")),
        what="CE vs the counted positions alone, value",
    )
    assert_close(
        grad_rows[kept],
        oracles.cross_entropy_vjp(rows, targets, row_cotangent, **sub_params),
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=oracles.cross_entropy_gradient_bound(rows, targets, row_cotangent, **sub_params),
        what="CE vs the counted positions alone, gradient",
    )
    if reduction == "none":
        check(np.all(value.ravel()[~kept] == 0), "loss at an ignored position", value, 0.0)
    check(np.all(grad_rows[~kept] == 0), "gradient at ignored positions", grad_rows[~kept], 0.0)


@pytest.mark.claim("CE-8")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_ce8_all_ignored_or_empty_batch(device, dtype, reduction, cross_entropy, data):
    """No counted target (every one ignored, or N = 0): 'mean' is NaN (0/0), 'sum' 0, 'none' 0.

    The gradient is exactly 0 everywhere, also for 'mean'. Over K-dimensional inputs, class
    weights, label smoothing, and ignore_index −100 or a class in [0, C). float32: the 0/0 does
    not depend on the precision.
    """
    case = data.draw(ignoring_cases(dtype, reduction, min_n=0), label="case")
    target = np.full_like(case.target, case.params["ignore_index"])
    x, y = to_device(case.scores, device, dtype), to_device(target, device)
    cotangent = rounded(case.cotangent, dtype)
    value, grad = value_and_grad(
        cross_entropy, [x, y], cotangent=cotangent, **params_to_device(case.params, device, dtype)
    )
    value = value.to("cpu", torch.float64).numpy()
    scores, params = rounded(case.scores, dtype), params_rounded(case.params, dtype)
    assert_close(
        value,
        oracles.cross_entropy(scores, target, **params),
        dtype=dtype,
        what="CE of a batch with no counted target",
    )
    if reduction == "mean":
        check(np.isnan(value), "'mean' of no counted target", value, "NaN")
    else:
        check(np.all(value == 0), f"'{reduction}' of no counted target", value, 0.0)
    check(np.all(grad == 0), "gradient of a batch with no counted target", grad, 0.0)
    recording.note("no counted target (all ignored, or N = 0): 'mean' NaN, 'sum' 0, gradient 0")


# --- CE-9: probability targets ---------------------------------------------------------------


@pytest.mark.claim("CE-9")
@pytest.mark.dtypes(torch.float32, torch.bfloat16)
@pytest.mark.parametrize("reduction", TERMS_AND_MEAN)
@given(data=st.data())
def test_ce9_probability_targets(device, dtype, reduction, cross_entropy, data):
    """CE(x, q) = −Σ_c q_c·log softmax(x)_c per position, 'mean' over N·d1·…·dk positions.

    The reference is the formula itself (``oracles.log_softmax``, a sum over the class axis,
    and the reduction with the position count as the 'mean' denominator); the gradient is the
    oracle's (Σ_c q_c)·p − q. Over every reduction, empty batches, K-dimensional inputs (N, C,
    d1, d2) and targets with zeros. With optional class weights w the summand is w_c·q_c, and
    'mean' still divides by the number of positions (not by a summed weight). Per position and
    'mean', in float32 and bfloat16 (whose rounded targets no longer sum to exactly 1).
    """
    shape = data.draw(vs.shapes(min_n=0, max_kdims=2), label="shape")
    n_classes, positions = shape[1], (shape[0], *shape[2:])
    scores = rounded(data.draw(vs.logits(shape, vs.logit_bound(dtype)), label="scores"), dtype)
    q = rounded(data.draw(vs.soft_targets(shape), label="q"), dtype)
    weight = None
    if data.draw(st.booleans(), label="weighted"):
        weight = rounded(data.draw(vs.class_weights(n_classes), label="weight"), dtype)
    cotangent = rounded(
        data.draw(vs.cotangents(positions if reduction == "none" else ()), label="g"), dtype
    )
    w = np.ones(n_classes) if weight is None else weight
    w = w.reshape((1, n_classes) + (1,) * (len(shape) - 2))
    log_p = oracles.log_softmax(scores, axis=1)
    per_position = -np.sum(np.where(q == 0, 0.0, w * q * log_p), axis=1)
    expected = reduce(per_position, reduction, float(np.prod(positions)))
    params = (
        {"reduction": reduction} if weight is None else {"reduction": reduction, "weight": weight}
    )

    x, target = to_device(scores, device, dtype), to_device(q, device, dtype)
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    assert_value_and_gradient(
        cross_entropy,
        [x, target],
        expected,
        oracles.cross_entropy_vjp(scores, q, cotangent, **params),
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={
            "terms": terms,
            "condition": condition,
            "scale": loss_scale(reduction, int(np.prod(positions)), weight),
        },
        grad_tolerance={
            "terms": terms,
            "condition": condition,
            "scale": oracles.cross_entropy_gradient_bound(scores, q, cotangent, **params),
        },
        what="CE with probability targets,",
        **params_to_device(params, device, dtype),
    )


@pytest.mark.claim("CE-6", "CE-9")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_ce6_ce9_gradcheck(device, dtype, cross_entropy, data):
    """Label smoothing (with weights and ignore_index) and probability targets pass gradcheck."""
    case = data.draw(
        vs.classification_cases(dtype, min_n=1, max_n=3, max_c=4, max_kdims=1), label="case"
    )
    eps = data.draw(st.floats(0.0, 1.0), label="label_smoothing")
    assume(
        np.all(
            np.isfinite(
                oracles.cross_entropy(case.scores, case.target, label_smoothing=eps, **case.params)
            )
        )
    )
    q = data.draw(vs.soft_targets(case.scores.shape), label="q")
    x = to_device(case.scores, device, dtype, requires_grad=True)
    y, soft = to_device(case.target, device), to_device(q, device, dtype)
    params = params_to_device(case.params, device, dtype)
    check_gradients(
        lambda s: cross_entropy(s, y, label_smoothing=eps, **params),
        [x],
        what="gradient with label smoothing",
    )
    check_gradients(
        lambda s: cross_entropy(s, soft, reduction=params["reduction"]),
        [x],
        what="gradient with probability targets",
    )
