"""Symmetric cross-entropy family: SCE-1, SCE-2 (Wang et al., 2019, "Symmetric Cross Entropy
for Robust Learning with Noisy Labels").

The implementations under claim are written here as claims.md states them:

- ``clamped_binary_cross_entropy(a, b)``: ce(a, b) = −a·log b − (1 − a)·log(1 − b) on both
  arguments clamped to [1e-4, 1 − 1e-4]; the reverse term is the same function with its
  arguments swapped, rce(y, p) = ce(p, y);
- ``reverse_cross_entropy``: RCE = −Σ_c softmax(x)_c·log clamp(onehot(y), 1e-4, 1)_c, and
  ``symmetric_cross_entropy`` = a·CE + b·RCE (the SCELoss of HanxunH/SCELoss-Reproduce,
  without the clamp of the prediction to [1e-7, 1] that it also applies; see
  ``test_sce2_reproduce_prediction_clamp_changes_rce``).

Measured against claims.md: the published 8.2502 (SCE-1, y = 1, p = 0.8) is the float32 value.
In float32 the clamp bound 1 − 1e-4 rounds to 0.99989998, so log(1 − clamp(1)) is
log(1.00017e-4) rather than log(1e-4); the exact ratio (float64, mpmath) is 8.250314, which
rounds to 8.2503. The second ratio, 4.5786, is the same in both. In float16 and bfloat16 the
bound 1 − 1e-4 rounds to 1 itself, so the clamp no longer keeps log(1 − y) finite:
rce(1, p) = inf (``test_sce1_upper_clamp_rounds_to_one_in_half_precision``).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from specs.classification_draws import unweighted_rows
from specs.oracle_checks import Expected, assert_matches_oracle, logsumexp_tolerance
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip
from verify.checks import check
from verify.devices import dtype_name, rounded, to_device
from verify.oracles import symmetric
from verify.oracles.reduction import REDUCTIONS, expand_cotangent
from verify.stand_ins import SCE_EPS as EPS
from verify.stand_ins import (
    clamped_binary_cross_entropy,
    reproduce_reverse_cross_entropy,
    reverse_cross_entropy,
    symmetric_cross_entropy,
)
from verify.tolerances import (
    assert_close,
    assert_matches_published,
    logsumexp_condition,
    loss_scale,
)

BINARY_CE = pytest.mark.parametrize(
    "binary_ce", [clamped_binary_cross_entropy], ids=["clamped-both-arguments"]
)
RCE = pytest.mark.parametrize("rce", [reverse_cross_entropy], ids=["softmax-log-clamped-onehot"])
SCE = pytest.mark.parametrize("sce", [symmetric_cross_entropy], ids=["a-ce-plus-b-rce"])


def clamp_bounds(dtype: torch.dtype) -> tuple[float, float]:
    """The clamp bounds [1e-4, 1 − 1e-4] as the dtype holds them (what the oracle is given)."""
    low, high = rounded(np.array([EPS, 1 - EPS]), dtype)
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# SCE-1

EXAMPLES_SCE1 = {"clean label": (1.0, 0.8, "8.2502"), "noisy label": (0.0, 0.8, "4.5786")}


def binary_ratio(binary_ce, y: float, p: float, device, dtype) -> torch.Tensor:
    """rce(y, p)/ce(y, p) = ce(p, y)/ce(y, p), computed in ``dtype``."""
    y_t, p_t = to_device(np.array(y), device, dtype), to_device(np.array(p), device, dtype)
    return call_or_skip(binary_ce, p_t, y_t) / call_or_skip(binary_ce, y_t, p_t)


def oracle_ratio(y: float, p: float, dtype: torch.dtype) -> float:
    low, high = clamp_bounds(dtype)
    p = float(rounded(np.array(p), dtype))
    forward = symmetric.clamped_binary_cross_entropy(y, p, low, high)
    return float(symmetric.clamped_binary_cross_entropy(p, y, low, high) / forward)


def mp_ratio(y: float, p: float | str, low: float | str, high: float | str) -> float:
    """rce/ce at 50 digits for the given p and clamp bounds (floats, or decimal strings)."""
    with mp.workdps(50):
        low, high = mp.mpf(low), mp.mpf(high)

        def ce(a, b):
            a, b = min(max(a, low), high), min(max(b, low), high)
            return -(a * mp.log(b) + (1 - a) * mp.log(1 - b))

        return float(ce(mp.mpf(p), mp.mpf(y)) / ce(mp.mpf(y), mp.mpf(p)))


@pytest.mark.claim("SCE-1")
@BINARY_CE
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("example", list(EXAMPLES_SCE1))
def test_sce1_published_ratios_in_float32(device, dtype, example, binary_ce):
    """rce/ce = 8.2502 (y = 1, p = 0.8) and 4.5786 (y = 0, p = 0.8), reproduced in float32, and
    against the oracle given the clamp bounds as float32 holds them."""
    y, p, published = EXAMPLES_SCE1[example]
    ratio = binary_ratio(binary_ce, y, p, device, dtype)
    assert_close(ratio, oracle_ratio(y, p, dtype), dtype=dtype, terms=2, what=f"{example} rce/ce")
    assert_matches_published(ratio, published, what=f"{example} rce/ce ({dtype_name(dtype)})")


@pytest.mark.claim("SCE-1")
@BINARY_CE
@pytest.mark.dtypes(torch.float64)
def test_sce1_exact_clean_label_ratio_differs_in_the_last_digit(device, dtype, binary_ce):
    """In float64 (and exactly, mpmath) the clean-label ratio is 8.250314: it rounds to 8.2503,
    not the published 8.2502, which is the float32 value (its upper clamp bound rounds to
    0.99989998). The noisy-label ratio is 4.5786 at every precision."""
    ratios = {}
    low, high = clamp_bounds(dtype)
    for example, (y, p, published) in EXAMPLES_SCE1.items():
        ratio = binary_ratio(binary_ce, y, p, device, dtype)
        expected = oracle_ratio(y, p, dtype)
        reference = mp_ratio(y, p, low, high)
        assert_close(expected, reference, dtype=dtype, terms=2, what="oracle against mpmath")
        assert_close(ratio, expected, dtype=dtype, terms=2, what=f"{example} rce/ce")
        ratios[example] = (float(ratio), published)
    # With the bounds exactly 1e-4 and 1 − 1e-4 (and p exactly 0.8) the ratio is the same to
    # 1e-13: 8.250314 as well.
    exact = mp_ratio(1.0, "0.8", "1e-4", "0.9999")
    clean = float(EXAMPLES_SCE1["clean label"][2])
    check(
        abs(exact - clean) > 0.5e-4,
        "ratio with the exact bounds (mpmath)",
        exact,
        f"off the published {clean} by more than 0.5e-4",
    )
    value, published = ratios["clean label"]
    check(
        abs(value - float(published)) > 0.5e-4,
        "clean label rce/ce (float64)",
        value,
        f"off the published {published} by more than 0.5e-4",
    )
    assert_matches_published(*ratios["noisy label"], what="noisy label rce/ce (float64)")
    recording.note(
        f"counterexample: exact clean-label rce/ce = {exact:.6f} (float64 {value:.6f}); the "
        f"published {published} is the float32 value (1 − 1e-4 rounds to 0.99989998 there)"
    )


@pytest.mark.claim("SCE-1")
@BINARY_CE
@pytest.mark.dtypes(torch.float16, torch.bfloat16)
def test_sce1_upper_clamp_rounds_to_one_in_half_precision(device, dtype, binary_ce):
    """In float16 and bfloat16 the bound 1 − 1e-4 rounds to 1, so clamp(y = 1) = 1 and
    rce(1, p) = −(1 − p)·log(1 − 1) = inf; the oracle given the rounded bounds agrees."""
    low, high = clamp_bounds(dtype)
    check(high == 1.0, "1 − 1e-4 rounded to the dtype", high, 1.0)
    y_t, p_t = to_device(np.array(1.0), device, dtype), to_device(np.array(0.8), device, dtype)
    rce = call_or_skip(binary_ce, p_t, y_t)
    expected = symmetric.clamped_binary_cross_entropy(
        float(rounded(np.array(0.8), dtype)), 1.0, low, high
    )
    check(
        torch.isinf(rce) and np.isinf(expected),
        "rce(1, 0.8) and its oracle",
        (rce, expected),
        "inf",
    )
    recording.note(
        f"counterexample: in {dtype_name(dtype)} 1 − 1e-4 rounds to 1: rce(1, 0.8) = inf"
    )


def clamp_gradient_at_bounds(device, dtype) -> tuple[float, float]:
    """torch.clamp's gradient at a value equal to its lower and upper bound, measured.

    Both 1 and 0 are valid subgradients there, and torch changed its choice between versions
    (1 on 2.13.0, 0 on 2.14.1): the oracle is told which one this torch makes, and the claim's
    note records it, so the claim holds on either version and says which it ran on."""
    low, high = clamp_bounds(dtype)
    x = to_device(np.array([low, high]), device, dtype).requires_grad_()
    (grad,) = torch.autograd.grad(x.clamp(EPS, 1 - EPS).sum(), x)
    return float(grad[0]), float(grad[1])


def unit_interval(shape, dtype):
    """Values in [0, 1], often exactly 0, 1, at the clamp bounds or just inside them."""
    low, high = clamp_bounds(dtype)
    special = st.sampled_from([0.0, 1.0, low, high, 0.5, 1e-3, 1 - 1e-3])
    return hnp.arrays(np.float64, shape, elements=st.one_of(st.floats(0.0, 1.0), special))


@pytest.mark.claim("SCE-1")
@BINARY_CE
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_sce1_ce_and_rce_match_definition(device, dtype, reduction, binary_ce, data):
    """ce(y, p) and rce(y, p) = ce(p, y) against the oracle, values and gradients with respect
    to p (zero outside the clamp range; at a bound, the gradient this torch's clamp gives), for
    y, p anywhere in [0, 1] (0 and 1 included)."""
    n = data.draw(st.integers(0, 8), label="n")
    y = rounded(data.draw(unit_interval((n,), dtype), label="y"), dtype)
    p = rounded(data.draw(unit_interval((n,), dtype), label="p"), dtype)
    g = rounded(data.draw(vs.cotangents((n,) if reduction == "none" else ()), label="g"), dtype)
    low, high = clamp_bounds(dtype)
    at_bounds = clamp_gradient_at_bounds(device, dtype)
    recording.note(
        f"version-dependent: on torch {torch.__version__} clamp's gradient at its bounds is "
        f"{at_bounds[0]:g} (low), {at_bounds[1]:g} (high); torch 2.13.0 gives 1, 2.14.1 gives 0"
    )
    y_t, p_t = to_device(y, device, dtype), to_device(p, device, dtype)
    condition = 1.0 - math.log(low)  # |log b̄| ≤ −log(1e-4)
    terms, scale = max(n, 1), loss_scale(reduction, n) * 2 * condition
    g_full = np.abs(expand_cotangent(g, (n,), reduction))
    sides = {
        # ce(y, p): p is the second argument; ∂/∂p̄ is up to 1/low in size.
        "ce(y, p)": (
            lambda q, t, **kw: binary_ce(t, q, **kw),
            symmetric.clamped_binary_cross_entropy(y, p, low, high, reduction),
            symmetric.clamped_binary_cross_entropy_vjp(
                y, p, g, low, high, reduction, wrt=1, at_bounds=at_bounds
            ),
            float(np.max(g_full, initial=0.0)) / low,
        ),
        # rce(y, p) = ce(p, y): p is the first argument; ∂/∂p̄ is up to 2·|log low|.
        "rce(y, p) = ce(p, y)": (
            binary_ce,
            symmetric.clamped_binary_cross_entropy(p, y, low, high, reduction),
            symmetric.clamped_binary_cross_entropy_vjp(
                p, y, g, low, high, reduction, wrt=0, at_bounds=at_bounds
            ),
            float(np.max(g_full, initial=0.0)) * 2 * condition,
        ),
    }
    common = {"terms": terms, "pointwise": True}
    for name, (fn, expected, expected_grad, grad_scale) in sides.items():
        assert_value_and_gradient(
            fn,
            [p_t, y_t],
            expected,
            expected_grad,
            cotangent=g,
            dtype=dtype,
            value_tolerance={**common, "scale": scale},
            grad_tolerance={**common, "scale": grad_scale},
            what=name,
            reduction=reduction,
        )


# --------------------------------------------------------------------------------------------
# SCE-2


@pytest.mark.claim("SCE-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_sce2_published_constant(device, dtype):
    """−log(1e-4) = 9.2103 (the published constant), in the dtype and exactly."""
    clamped_zero = to_device(np.array(0.0), device, dtype).clamp(EPS, 1.0)
    assert_matches_published(-torch.log(clamped_zero), "9.2103", what="−log(clamp(0, 1e-4, 1))")
    assert_matches_published(-math.log(EPS), "9.2103", what="−log(1e-4)")


def rce_case(data, dtype, reduction):
    return data.draw(unweighted_rows(dtype, reduction, max_n=6, max_c=6), label="case")


def label_eps(dtype: torch.dtype) -> float:
    """1e-4 as the dtype holds it: the floor of the clamped one-hot label."""
    return float(rounded(np.array(EPS), dtype))


@pytest.mark.claim("SCE-2")
@RCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_sce2_rce_is_scaled_complement_of_target_probability(device, dtype, reduction, rce, data):
    """−Σ softmax(x)·log clamp(onehot, 1e-4, 1) = −log(1e-4)·(1 − p_y), values and gradients
    (∂/∂x_j = −log(1e-4)·p_y·(p_j − [j = y])), every reduction."""
    case = rce_case(data, dtype, reduction)
    eps = label_eps(dtype)

    def oracle(scores, g):
        return (
            symmetric.reverse_cross_entropy(scores, case.target, eps, reduction),
            symmetric.reverse_cross_entropy_vjp(scores, case.target, g, eps, reduction),
        )

    check_against_oracle(rce, case, device, dtype, oracle, -math.log(eps), "RCE")


def check_against_oracle(fn, case, device, dtype, oracle, size: float, what: str, **params):
    """``fn``'s value and gradient against ``oracle(scores, cotangent)`` = (value, gradient)
    on the rounded inputs, for a loss at most ``size`` per position."""
    reduction = case.params["reduction"]
    scores, g = rounded(case.scores, dtype), rounded(case.cotangent, dtype)
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    n = case.target.size
    largest_cotangent = float(np.max(np.abs(expand_cotangent(g, (n,), reduction)), initial=0.0))
    expected = Expected(
        *oracle(scores, g), size * loss_scale(reduction, n), size * largest_cotangent
    )
    tolerance = logsumexp_tolerance(scores)
    params = {"reduction": reduction, **params}
    assert_matches_oracle(
        fn, [x, y], expected, cotangent=g, dtype=dtype, tolerance=tolerance, what=what, **params
    )


def check_sce(fn, case, device, dtype, coef_a, coef_b, what, **params):
    """``fn``'s value and gradient against the oracle a·CE + b·RCE."""
    reduction = case.params["reduction"]
    eps = label_eps(dtype)

    def oracle(scores, g):
        return (
            symmetric.symmetric_cross_entropy(scores, case.target, coef_a, coef_b, eps, reduction),
            symmetric.symmetric_cross_entropy_vjp(
                scores, case.target, g, coef_a, coef_b, eps, reduction
            ),
        )

    size = abs(coef_a) + abs(coef_b) * -math.log(eps)
    check_against_oracle(fn, case, device, dtype, oracle, size, what, **params)


@pytest.mark.claim("SCE-2")
@SCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_sce2_sce_is_weighted_sum_of_ce_and_rce(device, dtype, reduction, sce, data):
    """SCE = a·CE + b·RCE, values and gradients, a, b ∈ [0, 10] (the paper's range)."""
    case = rce_case(data, dtype, reduction)
    weights = st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.0, 10.0))
    a = float(rounded(np.array(data.draw(weights, label="a")), dtype))
    b = float(rounded(np.array(data.draw(weights, label="b")), dtype))
    check_sce(sce, case, device, dtype, a, b, "SCE", a=a, b=b)


@pytest.mark.claim("SCE-2")
@SCE
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_sce2_b_zero_is_cross_entropy(device, dtype, reduction, sce, cross_entropy, data):
    """With b = 0 (a = 1) SCE is CrossEntropyLoss: values and gradients of both against the
    cross-entropy oracle (which the SCE oracle reduces to)."""
    case = rce_case(data, dtype, reduction)
    scores = rounded(case.scores, dtype)
    assert_close(
        symmetric.symmetric_cross_entropy(scores, case.target, 1.0, 0.0, reduction=reduction),
        oracles.cross_entropy(scores, case.target, reduction=reduction),
        dtype=torch.float64,
        terms=max(scores.size, 1),
        condition=logsumexp_condition(scores),
        scale=loss_scale(reduction, case.target.size),
        what="oracle identity SCE(b = 0) = CE",
    )
    check_sce(sce, case, device, dtype, 1.0, 0.0, "SCE(a = 1, b = 0)", a=1.0, b=0.0)
    check_sce(cross_entropy, case, device, dtype, 1.0, 0.0, "CrossEntropyLoss")


@pytest.mark.claim("SCE-2")
@pytest.mark.dtypes(torch.float64)
def test_sce2_reproduce_prediction_clamp_changes_rce(device, dtype):
    """SCELoss-Reproduce also clamps softmax to [1e-7, 1]; its RCE is then
    −log(1e-4)·Σ_{c≠y} max(p_c, 1e-7), not 9.2103·(1 − p_y), wherever some p_c < 1e-7:
    e.g. scores [20, 0, 0], target 0 (1.84e-6 against 3.8e-8). The claim's form is exact."""
    scores, target = np.array([[20.0, 0.0, 0.0]]), np.array([0])
    x, y = to_device(scores, device, dtype), to_device(target, device)
    clamped = call_or_skip(reproduce_reverse_cross_entropy, x, y, reduction="none")
    exact = call_or_skip(reverse_cross_entropy, x, y, reduction="none")
    expected = symmetric.reverse_cross_entropy(scores, target, EPS, "none")
    assert_close(exact, expected, dtype=dtype, what="RCE without the prediction clamp")
    p = oracles.softmax(scores, axis=1)
    with_clamp = -math.log(EPS) * np.sum(np.maximum(p, 1e-7) * (np.arange(3) != target[:, None]))
    assert_close(clamped, np.array([with_clamp]), dtype=dtype, what="RCE with the clamp")
    check(
        float(clamped[0]) > 10 * float(exact[0]),
        "RCE with the clamp",
        float(clamped[0]),
        f"more than 10× RCE without it ({float(exact[0]):.4g})",
    )
    recording.note(
        f"SCELoss-Reproduce's softmax clamp [1e-7, 1]: RCE([20, 0, 0], 0) = "
        f"{float(clamped[0]):.3g} vs 9.2103·(1 − p_y) = {float(exact[0]):.3g}"
    )
