"""KL divergence: KL-1 … KL-5 (KL-2 headline).

``KLDivLoss(log_softmax(x), onehot(y), reduction='batchmean')`` equals ``CE(x, y)``: with a
one-hot target, Σ_c t_c log t_c = 0, so KL reduces to −log p_y per sample, and 'batchmean'
divides by N as CE's mean does. 'mean' divides by N·C instead, and PyTorch warns about it.

The other claims, with P, Q distributions over C classes (rows of (N, C) arrays), the input
of ``kl_div`` the log-probabilities log Q and its target P:

- KL-1: KL(P‖Q) = CE(P, Q) − H(P), CE(P, Q) = −Σ P log Q, H(P) = −Σ P log P.
- KL-3: KL is not symmetric (a counterexample hypothesis finds), KL ≥ 0 (Gibbs), and
  KL ≥ ½‖P − Q‖₁² (Pinsker), which makes "0 only when P = Q" decidable in floating point.
- KL-4: with soft or smoothed targets t, KL(t‖softmax(z)) = CE(z, t) − H(t): same gradients
  with respect to z; minimum 0 for KL and H(t) for CE, both at z = log t (+ any constant).
- KL-5: log_target=True on log t equals log_target=False on t for t > 0. Measured: at t = 0
  (log t = −inf) PyTorch's exp(s)·(s − a) is 0·(−inf) = NaN, so the claim holds on t > 0
  only; ``test_kl5_zero_target_is_nan_with_log_target`` pins that.

References are the float64 oracles ``verify.oracles.divergence`` (KL pointwise with xlogy)
and ``verify.oracles.entropy`` (H and CE between distributions), never the torch functions.
The entropy claim ENT-1 is in ``specs/test_entropy.py``.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from hypothesis import find, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.distributions import Categorical

from specs.distribution_draws import (
    F64_F32,
    batch_shape,
    class_targets,
    cotangents,
    logits,
    probabilities,
    shapes,
    soft_targets,
)
from specs.oracle_checks import Expected, assert_matches_oracle
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip, value_and_grad
from verify.checks import check, check_differs, check_gradients
from verify.contracts import is_torch_form
from verify.devices import rounded, to_device, to_numpy
from verify.oracles import entropy as ent
from verify.oracles.divergence import KL_REDUCTIONS
from verify.oracles.reduction import reduce
from verify.tolerances import assert_close, compare, logsumexp_condition, loss_scale, tolerance


@functools.cache
def _float_arrays(shape: tuple[int, ...], low: float, high: float) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_subnormal=False))


# --- KL-1; the distributions of KL-1, KL-3, KL-4, KL-5 -----------------------------------------


def _log_distributions(data, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """log Q for Q = softmax(z), logits z up to ``bound``: finite, rows normalized (float64)."""
    return oracles.log_softmax(data.draw(logits(shape, bound), label="z"), axis=1)


@functools.cache
def positive_distributions(shape: tuple[int, ...], dtype: torch.dtype) -> st.SearchStrategy:
    """Probability rows whose entries stay > 0 in ``dtype`` (some next to its smallest normal)."""
    return probabilities(shape, dtype).map(lambda raw: raw / raw.sum(axis=1, keepdims=True))


@functools.cache
@st.composite
def nearby_pairs(draw, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(P, log Q): P with zeros allowed, Q = (1 − s)·P + s·R, R = softmax(z) > 0, s ∈ (0, 1].

    Small s puts Q next to P, where KL is near 0 and rounding could push it below; s = 1 gives
    an unrelated Q. Q > 0 everywhere, so log Q is finite, as ``kl_div``'s input must be
    (``test_kl3_log_input_must_be_finite``).
    """
    p = draw(soft_targets(shape))
    r = oracles.softmax(draw(logits(shape, 10.0)), axis=1)
    s = draw(st.sampled_from([1e-6, 1e-3, 0.1, 1.0]) | st.floats(1e-6, 1.0))
    return p, np.log((1.0 - s) * p + s * r)


def _kl_rows(log_q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Oracle KL(P‖Q) of each row (float64)."""
    return np.sum(oracles.kl_div(log_q, p, reduction="none"), axis=-1)


def cross_entropy_minus_entropy(log_q, p, reduction="sum"):
    """CE(P, Q) − H(P) written with torch: −Σ P·log Q minus ``Categorical(probs=P).entropy()``."""
    per_row = -(p * log_q).sum(dim=1) - Categorical(probs=p, validate_args=False).entropy()
    return per_row.sum() if reduction == "sum" else per_row.mean()


@pytest.mark.claim("KL-1")
@F64_F32
@given(data=st.data())
def test_kl1_kl_equals_cross_entropy_minus_entropy(device, dtype, kl_div, data):
    """KL(P‖Q) = CE(P, Q) − H(P), values and gradients with respect to log Q.

    Both ``kl_div(log Q, P)`` and the torch composite −Σ P·log Q − Categorical(P).entropy() are
    held to the oracles' CE(P, Q) − H(P) (``verify.oracles.entropy``), summed and averaged over
    the batch ('sum' and 'batchmean', both on every example); the gradient is −P (per sample),
    H(P) not depending on Q. P has zeros (0·log 0 = 0), log Q reaches −2·10⁴. The oracle
    identity ``kl_div`` = CE − H (xlogy against entr) is asserted in float64.
    """
    shape = batch_shape(data)
    p = data.draw(soft_targets(shape), label="p")
    log_q = _log_distributions(data, shape, vs.logit_bound(dtype))
    cotangent = rounded(data.draw(cotangents(()), label="g"), dtype)
    p_r, a_r = rounded(p, dtype), rounded(log_q, dtype)
    per_row = ent.cross_entropy(p_r, a_r, axis=1) - ent.entropy(p_r, axis=1)
    inputs = [to_device(log_q, device, dtype), to_device(p, device, dtype)]
    kw = {"terms": p.size, "condition": logsumexp_condition(a_r)}
    for reduction in ("sum", "batchmean"):
        batch_reduction = "sum" if reduction == "sum" else "mean"
        expected = reduce(per_row, batch_reduction)
        expected_grad = oracles.kl_div_vjp(a_r, p_r, cotangent, reduction=reduction)
        scale = loss_scale(batch_reduction, shape[0])
        assert_close(
            oracles.kl_div(a_r, p_r, reduction=reduction),
            expected,
            dtype=torch.float64,
            scale=scale,
            **kw,
            what=f"oracle identity KL = CE − H ({reduction})",
        )
        sides = {"KLDivLoss": kl_div, "CE(P, Q) − H(P) in torch": cross_entropy_minus_entropy}
        reference = Expected(expected, expected_grad, scale, None)
        run = {"cotangent": cotangent, "dtype": dtype, "tolerance": kw}
        for name, fn in sides.items():
            what = f"{name} ({reduction})"
            assert_matches_oracle(fn, inputs, reference, what=what, reduction=reduction, **run)


# --- KL-2: KL to a one-hot target is cross-entropy --------------------------------------------


def kl_to_one_hot(kl_div, log_softmax, one_hot, reduction):
    """x ↦ KLDivLoss(log_softmax(x), one_hot) with the given reduction."""

    def composite(scores):
        return kl_div(log_softmax(scores, dim=1), one_hot, reduction=reduction)

    return composite


def _case(data, dtype):
    return data.draw(
        vs.classification_cases(
            dtype, min_n=1, max_kdims=0, weights=False, ignore_index=False, reduction="mean"
        ),
        label="case",
    )


@pytest.mark.claim("KL-2")
@given(data=st.data())
def test_kl2_batchmean_kl_to_one_hot_equals_cross_entropy(
    device, dtype, kl_div, log_softmax, cross_entropy, data
):
    """KLDivLoss(log_softmax(x), onehot(y), 'batchmean') = CE(x, y), values and gradients."""
    case = _case(data, dtype)
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    one_hot = to_device(np.eye(case.scores.shape[1])[case.target], device, dtype)
    scores = rounded(case.scores, dtype)
    expected = oracles.cross_entropy(scores, case.target)
    expected_grad = oracles.cross_entropy_vjp(scores, case.target, case.cotangent)
    condition, terms = logsumexp_condition(scores), scores.size
    grad_scale = oracles.cross_entropy_gradient_bound(scores, case.target, case.cotangent)
    sides = {
        "KLDivLoss(batchmean)": (kl_to_one_hot(kl_div, log_softmax, one_hot, "batchmean"), [x]),
        "CrossEntropyLoss": (cross_entropy, [x, y]),
    }
    for name, (fn, inputs) in sides.items():
        assert_value_and_gradient(
            fn,
            inputs,
            expected,
            expected_grad,
            cotangent=case.cotangent,
            dtype=dtype,
            value_tolerance={"terms": terms, "condition": condition, "scale": 1.0},
            grad_tolerance={"terms": terms, "condition": condition, "scale": grad_scale},
            what=name,
        )


@pytest.mark.claim("KL-2")
@given(data=st.data())
def test_kl2_mean_reduction_is_cross_entropy_over_classes(device, dtype, kl_div, log_softmax, data):
    """With reduction 'mean' the same KL is CE/C, not CE (it divides by N·C); PyTorch warns."""
    case = _case(data, dtype)
    n_classes = case.scores.shape[1]
    x = to_device(case.scores, device, dtype)
    one_hot = to_device(np.eye(n_classes)[case.target], device, dtype)
    scores = rounded(case.scores, dtype)
    # torch warns that 'mean' is not 'batchmean'; other implementations need not.
    warns = pytest.warns(UserWarning, match="batchmean") if is_torch_form(kl_div) else nullcontext()
    with warns:
        value = call_or_skip(kl_to_one_hot(kl_div, log_softmax, one_hot, "mean"), x)
    cross_entropy = oracles.cross_entropy(scores, case.target)
    assert_close(
        value,
        cross_entropy / n_classes,
        dtype=dtype,
        terms=scores.size,
        condition=logsumexp_condition(scores),
        scale=1.0,
        what="KLDivLoss(mean) value",
    )
    recording.note("reduction 'mean' gives CE/C (divides by N·C) and warns")


@pytest.mark.claim("KL-2")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_kl2_gradcheck(device, dtype, kl_div, log_softmax, data):
    """The batchmean KL to a one-hot target passes ``torch.autograd.gradcheck`` in float64."""
    case = _case(data, dtype)
    x = to_device(case.scores, device, dtype, requires_grad=True)
    one_hot = to_device(np.eye(case.scores.shape[1])[case.target], device, dtype)
    fn = kl_to_one_hot(kl_div, log_softmax, one_hot, "batchmean")
    check_gradients(fn, [x], what="KLDivLoss(log_softmax(x), one-hot)")


@st.composite
def positive_distribution_pairs(draw) -> tuple[np.ndarray, np.ndarray]:
    """Two strictly positive distributions over 2 to 4 classes, each of shape (1, C)."""
    n_classes = draw(st.integers(2, 4))
    raw = draw(_float_arrays((2, 1, n_classes), 0.01, 1.0))
    p, q = raw / raw.sum(axis=2, keepdims=True)
    return p, q


def _asymmetry(p: np.ndarray, q: np.ndarray, dtype: torch.dtype):
    """Rounded inputs of both directions, their oracle KLs, and the tolerance parameters."""
    p_r, q_r = rounded(p, dtype), rounded(q, dtype)
    log_p, log_q = rounded(np.log(p_r), dtype), rounded(np.log(q_r), dtype)
    forward, backward = _kl_rows(log_q, p_r), _kl_rows(log_p, q_r)
    condition = max(logsumexp_condition(log_p), logsumexp_condition(log_q))
    return (log_q, p_r, forward), (log_p, q_r, backward), {"terms": p.size, "condition": condition}


@functools.cache
def asymmetric_pair(dtype: torch.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The (shrunk) pair hypothesis finds whose KL(P‖Q), KL(Q‖P) differ beyond rounding."""

    def differs(pair):
        (_, _, forward), (_, _, backward), kw = _asymmetry(*pair, dtype)
        return not compare(forward, backward, dtype=dtype, scale=1.0, **kw).passed

    return find(positive_distribution_pairs(), differs)


# The textbook example: a biased coin against a fair one.
ASYMMETRY_REGRESSION = (np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]]))


@pytest.mark.claim("KL-3")
def test_kl3_kl_is_not_symmetric(device, dtype, kl_div):
    """KL(P‖Q) ≠ KL(Q‖P) in general: on the pair hypothesis finds (for each dtype) and on P =
    [0.9, 0.1], Q = [0.5, 0.5], both directions of ``kl_div`` match their oracles and differ
    by more than the rounding bound. (Under the ci profile, hypothesis 6.170.15 finds
    P = [2/3, 1/3], Q = [1/2, 1/2] in float64 and float32: 0.0566 against 0.0589; in float16
    P = [0.8, 0.2] and in bfloat16 P = [8/9, 1/9], where rounding hides smaller gaps.)
    """
    for p, q in (asymmetric_pair(dtype), ASYMMETRY_REGRESSION):
        directions = _asymmetry(p, q, dtype)
        kw = directions[2]
        values, exact = [], []
        for log_q, p_r, expected in directions[:2]:
            value = call_or_skip(
                kl_div,
                to_device(log_q, device, dtype),
                to_device(p_r, device, dtype),
                reduction="sum",
            )
            assert_close(value, expected[0], dtype=dtype, scale=1.0, what="KL value", **kw)
            values.append(float(value))
            exact.append(float(expected[0]))
        check_differs(values[0], values[1], "KL(P‖Q) against KL(Q‖P)", dtype=dtype, scale=1.0, **kw)
        recording.note(
            f"counterexample: P = {np.round(p.ravel(), 4).tolist()}, Q = "
            f"{np.round(q.ravel(), 4).tolist()}: KL(P‖Q) = {exact[0]:.4g}, "
            f"KL(Q‖P) = {exact[1]:.4g}"
        )


@pytest.mark.claim("KL-3")
@given(data=st.data())
def test_kl3_kl_is_nonnegative(device, dtype, kl_div, data):
    """KL(P‖Q) ≥ 0 for every pair of distributions (Gibbs' inequality), per row.

    Up to rounding: P and log Q rounded to the dtype are normalized only to its precision, and
    so the KL of the rounded inputs may fall below 0 by about one rounding; its negative part
    is held to the rounding bound. Pairs range from Q next to P (s = 10⁻⁶) to unrelated ones.
    """
    shape = batch_shape(data)
    p, log_q = data.draw(nearby_pairs(shape), label="pair")
    p_r, a_r = rounded(p, dtype), rounded(log_q, dtype)
    value = call_or_skip(
        kl_div, to_device(log_q, device, dtype), to_device(p, device, dtype), reduction="none"
    ).sum(dim=1)
    kw = {"dtype": dtype, "terms": shape[1], "condition": logsumexp_condition(a_r), "scale": 1.0}
    assert_close(value, _kl_rows(a_r, p_r), **kw, what="KL(P‖Q) per row")
    negative_part = np.minimum(to_numpy(value), 0.0)
    assert_close(negative_part, np.zeros(shape[0]), **kw, what="negative part of KL(P‖Q)")


@pytest.mark.claim("KL-3")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.bfloat16)
@given(data=st.data())
def test_kl3_kl_of_a_distribution_to_itself_is_zero(device, dtype, kl_div, data):
    """KL(P‖P) = 0: ``kl_div(log P, P)`` per row, for P > 0 (log P finite).

    log P is representable only to the dtype's rounding, so the exact KL of the rounded inputs
    is about u·H(P), not 0: the bound is the pointwise one (the dtype's own epsilon), on the
    scale 1 + H(P) of the terms that cancel.
    """
    shape = batch_shape(data)
    p_r = rounded(data.draw(positive_distributions(shape, dtype), label="p"), dtype)
    a_r = rounded(np.log(p_r), dtype)
    value = call_or_skip(
        kl_div, to_device(a_r, device, dtype), to_device(p_r, device, dtype), reduction="none"
    ).sum(dim=1)
    assert_close(
        value,
        np.zeros(shape[0]),
        dtype=dtype,
        terms=shape[1],
        condition=logsumexp_condition(a_r),
        scale=1.0 + float(np.max(ent.entropy(p_r, axis=1))),
        pointwise=True,
        what="KL(P‖P)",
    )


@pytest.mark.implementation_detail("NaN from 0·(−inf) is torch's arithmetic where the target is 0")
@pytest.mark.claim("KL-3")
@F64_F32
def test_kl3_log_input_must_be_finite(device, dtype, kl_div):
    """Where P has zeros, ``kl_div(log P, P)`` is NaN there, not 0.

    The target's 0·log 0 is taken as 0 (xlogy), but the input's log 0 = −inf meets t = 0 in
    −t·a = 0·(−inf) = NaN. So KL(P‖P) = 0 holds with log Q finite (Q > 0), which the other
    KL-3 specs draw; for a one-hot P, pass log-probabilities that are finite.
    """
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    value = call_or_skip(
        kl_div, to_device(log_p, device, dtype), to_device(p, device, dtype), reduction="none"
    )
    assert_close(value, np.where(p == 0, np.nan, 0.0), dtype=dtype, what="kl_div(log P, P)")
    recording.note("boundary: kl_div(log P, P) is NaN where P = 0 (0·(−inf)); log Q must be finite")


@pytest.mark.claim("KL-3")
@F64_F32
@given(data=st.data())
def test_kl3_kl_is_positive_when_distributions_differ(device, dtype, kl_div, data):
    """KL(P‖Q) ≥ ½‖P − Q‖₁² (Pinsker's inequality), so KL = 0 only when P = Q.

    This makes "only when P = Q" decidable in floating point: the 'batchmean' KL may fall
    short of the mean Pinsker bound by no more than the rounding bound, so wherever
    ½‖P − Q‖₁² exceeds that bound the computed KL is strictly positive, and a KL within
    rounding of 0 certifies ‖P − Q‖₁ ≤ √(2·bound).
    """
    shape = batch_shape(data)
    p, log_q = data.draw(nearby_pairs(shape), label="pair")
    p_r, a_r = rounded(p, dtype), rounded(log_q, dtype)
    value = call_or_skip(
        kl_div, to_device(log_q, device, dtype), to_device(p, device, dtype), reduction="batchmean"
    )
    pinsker = float(np.mean(0.5 * np.sum(np.abs(p_r - np.exp(a_r)), axis=1) ** 2))
    kw = {"dtype": dtype, "terms": p.size, "condition": logsumexp_condition(a_r), "scale": 1.0}
    assert_close(value, oracles.kl_div(a_r, p_r, "batchmean"), **kw, what="KL(P‖Q) batchmean")
    shortfall = min(float(value) - pinsker, 0.0)
    assert_close(shortfall, 0.0, **kw, what="shortfall of KL below ½‖P − Q‖₁²")
    if pinsker > tolerance(**kw).atol:
        check(float(value) > 0.0, "KL", float(value), f"above 0 (½‖P − Q‖₁² = {pinsker!r})")


SOFT_LABEL_REDUCTIONS = {"batchmean": "mean", "sum": "sum"}  # KLDivLoss's : CrossEntropyLoss's


@functools.cache
@st.composite
def soft_label_cases(draw, dtype: torch.dtype):
    """Logits z (N, C) and a target distribution t: any ('soft', zeros allowed), or smoothed
    labels (1 − ε)·onehot(y) + ε/C ('smoothed'). Returns the kind, z, t and CE's target and
    params (t itself, or y with ``label_smoothing=ε``)."""
    shape = draw(shapes(min_n=1, max_n=4))
    z = draw(logits(shape, vs.logit_bound(dtype)))
    if draw(st.booleans()):
        t = draw(soft_targets(shape))
        return "soft", z, t, t, {}
    y = draw(class_targets((shape[0],), shape[1]))
    eps = draw(st.floats(0.0, 1.0))
    t = (1.0 - eps) * np.eye(shape[1])[y] + eps / shape[1]
    return "smoothed", z, t, y, {"label_smoothing": eps}


def _check_kl_ce_oracles(z_r, log_p, t, ce_target, cotangent, reduction, ce, kw, scale, grad_scale):
    """The oracles to each other, in float64 on the exact target t: KL = CE − H(t) and
    ∂KL/∂z = ∂CE/∂z (CE with the parameters ``ce``, KL with ``reduction``)."""
    ce_reduction = ce["reduction"]
    exact_kl = oracles.kl_div(log_p, t, reduction)
    exact_ce = oracles.cross_entropy(z_r, ce_target, **ce)
    offset = reduce(ent.entropy(t, axis=1), ce_reduction)
    exact_kl_grad = oracles.cross_entropy_vjp(z_r, t, cotangent, reduction=ce_reduction)
    exact_ce_grad = oracles.cross_entropy_vjp(z_r, ce_target, cotangent, **ce)
    f64 = {"dtype": torch.float64, **kw}
    assert_close(exact_kl, exact_ce - offset, **f64, scale=scale, what="oracle KL = CE − H")
    assert_close(exact_kl_grad, exact_ce_grad, **f64, scale=grad_scale, what="oracle ∂KL = ∂CE")


@pytest.mark.claim("KL-4")
@F64_F32
@given(data=st.data())
def test_kl4_kl_is_cross_entropy_minus_target_entropy(
    device, dtype, kl_div, log_softmax, cross_entropy, data
):
    """KL(t‖softmax(z)) = CE(z, t) − H(t), values and gradients with respect to the logits z.

    KL is ``KLDivLoss(log_softmax(z), t)`` ('batchmean' and 'sum'); CE is ``CrossEntropyLoss``
    ('mean' and 'sum') with the probability target t, or, for smoothed labels, with the class
    indices y and ``label_smoothing=ε``. H(t) does not depend on z, so both gradients are
    (Σt)·softmax(z) − t. Each side is held to the oracle of its own inputs, and the oracles
    to each other: KL = CE − H(t) and ∂KL/∂z = ∂CE/∂z, in float64 on the exact target.
    """
    kind, z, t, ce_target, ce_params = data.draw(soft_label_cases(dtype), label="case")
    cotangent = rounded(data.draw(cotangents(()), label="g"), dtype)
    z_r, t_r = rounded(z, dtype), rounded(t, dtype)
    ce_target_r = t_r if kind == "soft" else ce_target
    x, target = to_device(z, device, dtype), to_device(t_r, device, dtype)
    ce_target_t = target if kind == "soft" else to_device(ce_target, device)
    kw = {"terms": z.size, "condition": logsumexp_condition(z_r)}
    log_p = oracles.log_softmax(z_r, axis=1)
    for reduction, ce_reduction in SOFT_LABEL_REDUCTIONS.items():
        scale = loss_scale(ce_reduction, z.shape[0])
        grad_scale = oracles.cross_entropy_gradient_bound(
            z_r, t_r, cotangent, reduction=ce_reduction
        )
        ce = {"reduction": ce_reduction, **ce_params}
        _check_kl_ce_oracles(
            z_r, log_p, t, ce_target, cotangent, reduction, ce, kw, scale, grad_scale
        )

        kl = kl_to_one_hot(kl_div, log_softmax, target, reduction)  # any target t, not one-hot
        run = {"cotangent": cotangent, "dtype": dtype, "tolerance": kw}
        sides = {
            "KLDivLoss(log_softmax)": (
                kl,
                [x],
                {},
                oracles.kl_div(log_p, t_r, reduction),
                oracles.cross_entropy_vjp(z_r, t_r, cotangent, reduction=ce_reduction),
            ),
            "CrossEntropyLoss": (
                cross_entropy,
                [x, ce_target_t],
                ce,
                oracles.cross_entropy(z_r, ce_target_r, **ce),
                oracles.cross_entropy_vjp(z_r, ce_target_r, cotangent, **ce),
            ),
        }
        for name, (fn, inputs, params, expected, expected_grad) in sides.items():
            reference = Expected(expected, expected_grad, scale, grad_scale)
            what = f"{name} ({reduction}, {kind} targets)"
            assert_matches_oracle(fn, inputs, reference, what=what, **run, **params)


@functools.cache
@st.composite
def positive_soft_labels(draw, shape: tuple[int, ...]) -> np.ndarray:
    """Targets t > 0 that are not one-hot: smoothed labels with ε ≥ 0.05, or softmax(w) with
    |w| ≤ 2, so that H(t) is well above rounding and the minimum z = log t is attained."""
    if draw(st.booleans()):
        y = draw(class_targets((shape[0],), shape[1]))
        eps = draw(st.floats(0.05, 1.0))
        return (1.0 - eps) * np.eye(shape[1])[y] + eps / shape[1]
    return oracles.softmax(draw(logits(shape, 2.0)), axis=1)


@pytest.mark.claim("KL-4")
@F64_F32
@given(data=st.data())
def test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy(
    device, dtype, kl_div, log_softmax, cross_entropy, data
):
    """min_z KL = 0 while min_z CE = H(t) > 0, both at z = log t + c (any constant c per row).

    With 'batchmean' KL and 'mean' CE: at z = log t + c, KL = 0, CE = mean H(t) and both
    gradients vanish; at arbitrary logits, KL ≥ 0 and CE ≥ mean H(t). The minimizer is only
    representable to the dtype's rounding, so the values there are held to the pointwise bound.
    """
    shape = batch_shape(data)
    t_r = rounded(data.draw(positive_soft_labels(shape), label="t"), dtype)
    c = data.draw(_float_arrays((shape[0], 1), -10.0, 10.0), label="c")
    z_min = rounded(np.log(t_r) + c, dtype)
    z_any = rounded(data.draw(logits(shape, vs.logit_bound(dtype)), label="z"), dtype)
    cotangent = rounded(data.draw(cotangents(()), label="g"), dtype)
    target = to_device(t_r, device, dtype)
    h = float(np.mean(ent.entropy(t_r, axis=1)))
    kl = kl_to_one_hot(kl_div, log_softmax, target, "batchmean")  # any t

    def both(z):
        kl_value, kl_grad = value_and_grad(kl, [to_device(z, device, dtype)], cotangent=cotangent)
        ce_value, ce_grad = value_and_grad(
            cross_entropy, [to_device(z, device, dtype), target], cotangent=cotangent
        )
        return float(kl_value), kl_grad, float(ce_value), ce_grad

    kl_min, kl_grad, ce_min, ce_grad = both(z_min)
    kw = {"dtype": dtype, "terms": z_min.size, "condition": logsumexp_condition(z_min)}
    grad_scale = oracles.cross_entropy_gradient_bound(z_min, t_r, cotangent)
    assert_close(kl_min, 0.0, **kw, scale=1.0, pointwise=True, what="KL at z = log t")
    assert_close(ce_min, h, **kw, scale=1.0, pointwise=True, what="CE at z = log t")
    for name, grad in (("KL", kl_grad), ("CE", ce_grad)):
        assert_close(
            grad, np.zeros(shape), **kw, scale=grad_scale, pointwise=True, what=f"∂{name}/∂z there"
        )
    check_differs(h, 0.0, "H(t) against 0", dtype=dtype, scale=1.0)

    kl_any, _, ce_any, _ = both(z_any)
    kw = {"dtype": dtype, "terms": z_any.size, "condition": logsumexp_condition(z_any)}
    assert_close(min(kl_any, 0.0), 0.0, **kw, scale=1.0, what="KL below its minimum 0")
    assert_close(min(ce_any - h, 0.0), 0.0, **kw, scale=1.0, what="CE below its minimum H(t)")


@pytest.mark.claim("KL-5")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.bfloat16)
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@given(data=st.data())
def test_kl5_log_target_equals_probability_target(device, dtype, kl_div, data):
    """``kl_div(a, log t, log_target=True)`` = ``kl_div(a, t)``, values and gradients w.r.t. a.

    Domain t > 0 (in the dtype: entries down to its smallest normal divided by C), every
    reduction ('none', 'mean', 'sum', 'batchmean', each on every example). Pointwise
    exp(s)·(s − a) against t·(log t − a): each side is held to the oracle of its own rounded
    inputs, and the oracles to each other in float64 (on log of the rounded t). At t = 0 the
    claim fails: ``test_kl5_zero_target_is_nan_with_log_target``.
    """
    shape = batch_shape(data)
    t_r = rounded(data.draw(positive_distributions(shape, dtype), label="t"), dtype)
    s_r = rounded(np.log(t_r), dtype)
    a_r = rounded(_log_distributions(data, shape, vs.logit_bound(dtype)), dtype)
    g = rounded(data.draw(cotangents(shape), label="g"), dtype)
    kw = {"terms": t_r.size, "condition": logsumexp_condition(a_r)}
    a = to_device(a_r, device, dtype)
    sides = {"log_target=True on log t": (s_r, True), "log_target=False on t": (t_r, False)}
    for reduction in KL_REDUCTIONS:
        cotangent = g if reduction == "none" else g[0, 0]
        scale = loss_scale("sum" if reduction == "sum" else "mean", shape[0])
        assert_close(
            oracles.kl_div(a_r, np.log(t_r), reduction, log_target=True),
            oracles.kl_div(a_r, t_r, reduction),
            dtype=torch.float64,
            scale=scale,
            **kw,
            what=f"oracle identity log_target=True on log t = False on t ({reduction})",
        )
        for name, (target, log_target) in sides.items():
            reference = Expected(
                oracles.kl_div(a_r, target, reduction, log_target=log_target),
                oracles.kl_div_vjp(a_r, target, cotangent, reduction, log_target),
                scale,
                None,
            )
            run = {"cotangent": cotangent, "dtype": dtype, "tolerance": kw}
            params = {"reduction": reduction, "log_target": log_target, **run}
            inputs = [a, to_device(target, device, dtype)]
            assert_matches_oracle(kl_div, inputs, reference, what=f"{name} ({reduction})", **params)


@pytest.mark.implementation_detail(
    "NaN from exp(−inf)·(−inf − x) is torch's arithmetic; the contract's value there is 0"
)
@pytest.mark.claim("KL-5")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_kl5_zero_target_is_nan_with_log_target(device, dtype, kl_div, data):
    """Outside t > 0 the claim fails: log_target=True is NaN exactly where t = 0.

    log_target=False gives 0 there (xlogy: 0·log 0 = 0), but log_target=True on log t = −inf
    evaluates exp(−inf)·(−inf − a) = 0·(−inf) = NaN, which every reduction propagates. The
    gradient with respect to a, −exp(s) = 0 there, stays finite and equal on both sides. This
    pins PyTorch's behaviour: a fix would make the spec fail.
    """
    shape = batch_shape(data)
    t = data.draw(soft_targets(shape), label="t")
    rows, zero = np.arange(shape[0]), data.draw(class_targets((shape[0],), shape[1]), "zero")
    t[rows, zero] = 0.0
    t[t.sum(axis=1) == 0] = 1.0  # a row emptied by the zero becomes uniform over the others
    t[rows, zero] = 0.0
    t_r = rounded(t / t.sum(axis=1, keepdims=True), dtype)
    with np.errstate(divide="ignore"):
        s = np.log(t_r)
    a = to_device(_log_distributions(data, shape, vs.logit_bound(dtype)), device, dtype)
    a_r = to_numpy(a)
    cotangent = rounded(data.draw(cotangents(shape), label="g"), dtype)
    kw = {"terms": t.size, "condition": logsumexp_condition(a_r)}
    expected = oracles.kl_div(a_r, t_r, "none")
    expected_grad = oracles.kl_div_vjp(a_r, t_r, cotangent, "none")
    sides = {
        "log_target=True on log t": (s, True, np.where(t_r == 0, np.nan, expected)),
        "log_target=False on t": (t_r, False, expected),
    }
    for name, (target, log_target, expected_value) in sides.items():
        assert_value_and_gradient(
            kl_div,
            [a, to_device(target, device, dtype)],
            expected_value,
            expected_grad,
            cotangent=cotangent,
            dtype=dtype,
            value_tolerance={**kw, "scale": 1.0},
            grad_tolerance=kw,
            what=name,
            reduction="none",
            log_target=log_target,
        )
    for reduction in ("sum", "batchmean"):
        value = call_or_skip(
            kl_div, a, to_device(s, device, dtype), reduction=reduction, log_target=True
        )
        check(torch.isnan(value), f"{reduction} with log_target=True", value, "NaN")
    recording.note("boundary: log_target=True gives NaN where the target is 0 (0·(−inf))")
