"""Regression losses: REG-1 (L1, MSE), REG-2 (SmoothL1 and Huber), REG-3 (bounded gradients).

Every loss here is an elementwise function of the error d = input − target followed by a
reduction, and 'mean' divides by the number of elements (numel), not by the batch size:

    L1 |d|,   MSE d²,   SmoothL1(β) 0.5·d²/β inside |d| < β else |d| − 0.5·β,
    Huber(δ) 0.5·d² inside |d| < δ else δ·(|d| − 0.5·δ)  (= δ·SmoothL1(β=δ)).

The float64 references and their gradients are ``verify.oracles.regression``. PyTorch takes
the subgradient sign(0) = 0 at L1's kink (and SmoothL1's with β = 0), and SmoothL1's β = 0 is
exactly L1. None of these losses has a contract, so each spec is parametrized explicitly over
the torch functional and ``nn.Module`` forms (ids ``functional`` and ``module``).

Inputs reach "large magnitudes": errors up to 1e8 wherever the squared error of every element
stays finite in the dtype (float16 stops at 10, since 100² · numel overflows 65504).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, value_and_grad
from verify.checks import check, check_differs, check_gradients
from verify.devices import rounded, to_device
from verify.oracles import regression as oracle
from verify.oracles.reduction import REDUCTIONS
from verify.tolerances import assert_close, loss_scale

MAGNITUDES = (1.0, 10.0, 1e2, 1e4, 1e8)
MAX_N, MAX_SIDE = 4, 3
MAX_SIZE = MAX_N * MAX_SIDE * MAX_SIDE  # (N, D1, D2): at most 36 elements
KINK_MARGIN = 1e-2  # gradcheck's finite differences (eps 1e-6) stay this far from a kink


def error_magnitudes(dtype: torch.dtype, size: int) -> list[float]:
    """Magnitudes m of |input|, |target| ≤ m for which Σ (2m)² over ``size`` elements is finite.

    A private strategy helper: the squared error of every element, its sum, and a gradient
    scaled by a cotangent up to 2 all stay below the dtype's largest finite value.
    """
    largest = float(torch.finfo(dtype).max)
    return [m for m in MAGNITUDES if 8.0 * m * m * max(size, 1) < largest]


@st.composite
def regression_shapes(draw, *, min_n: int = 0) -> tuple[int, ...]:
    """(N,), (N, D) or (N, D1, D2), N possibly 0: numel differs from N whenever D > 1."""
    n = draw(st.integers(min_n, MAX_N))
    return (n, *draw(st.lists(st.integers(1, MAX_SIDE), max_size=2)))


@st.composite
def regression_pairs(
    draw, dtype: torch.dtype, *, magnitude: float | None = None, min_n: int = 0, ties: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(input, target) of one shape, rounded to ``dtype``, with some exact ties (d = 0).

    Each is a magnitude (drawn from ``error_magnitudes`` unless given) times values in
    [−1, 1]; with ``ties`` a drawn subset of positions has target = input exactly.
    """
    shape = draw(regression_shapes(min_n=min_n), label="shape")
    if magnitude is None:
        size = math.prod(shape)
        magnitude = draw(st.sampled_from(error_magnitudes(dtype, size)), label="magnitude")
    unit = vs.unit_arrays(shape)
    x, y = draw(unit, label="input") * magnitude, draw(unit, label="target") * magnitude
    if ties:
        y = np.where(draw(vs.masks(shape), label="ties"), x, y)
    return rounded(x, dtype), rounded(y, dtype)


def scales(*, low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[float]:
    """Positive values spread over orders of magnitude: 10^u for u in [low, high].

    The two ends and one value off the powers of ten are drawn often, so that examples do
    not crowd at 10^0 = 1 (where β, δ and the factors they scale are invisible).
    """
    anchors = [10.0**low, 10.0**high, 10.0 ** ((low + high) / 2 + 0.3)]
    return st.one_of(st.sampled_from(anchors), st.floats(low, high).map(lambda u: 10.0**u))


def cotangent_for(data, shape: tuple[int, ...], reduction: str, dtype: torch.dtype) -> np.ndarray:
    output_shape = shape if reduction == "none" else ()
    return rounded(data.draw(vs.cotangents(output_shape), label="cotangent"), dtype)


def smooth_l1_resolution(dtype: torch.dtype, beta: float) -> float:
    """The absolute error a SmoothL1(β) value or slope may carry from underflow: tiny·max(1, 1/β).

    tiny is the dtype's smallest normal. A result below it is rounded to a subnormal, with an
    absolute error up to eps·tiny; an intermediate below it is too, and a later division by
    β scales that error by 1/β. Measured: PyTorch's float16 CPU kernel rounds 0.5·d² to
    float16 before dividing by β, so it is subnormal for |d| < 2^-7 (and 0 for |d| < 2^-12):
    d = 2^-13, β = 2^-6 gives 0 in float16, not 4.8e-7 (bfloat16 gives 4.8e-7). The backward
    forms g·d before dividing by β, so a subnormal d (float32: d = 1.2e-42, β = 1e-3, g = 0.5)
    gives a slope off by eps·tiny/β. Used as a floor of the comparisons' ``scale``:
    SAFETY_FACTOR·eps·tiny·max(1, 1/β) covers both.
    """
    tiny = float(torch.finfo(dtype).tiny)
    return tiny * max(1.0, 1.0 / beta) if beta > 0 else tiny


def check_against_oracle(
    fn,
    x: np.ndarray,
    y: np.ndarray,
    *,
    device: str,
    dtype: torch.dtype,
    cotangent: np.ndarray,
    expected: np.ndarray,
    expected_grad: np.ndarray,
    name: str,
    resolution: float | None = None,
    **params,
) -> tuple[torch.Tensor, np.ndarray]:
    """Value and gradient (w.r.t. the input) of ``fn`` against the oracle's, on ``device``.

    The value's absolute error is measured against the largest |expected| (normwise), but
    not below ``resolution`` per element (times numel for 'sum'; default: the dtype's
    smallest normal, the scale the tolerance module floors at anyway); the gradient's
    against the largest |expected gradient|, but not below ``resolution``·max(1, |g|).
    """
    inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
    terms = max(x.size, 1)
    finite = np.abs(expected[np.isfinite(expected)])
    floor = float(torch.finfo(dtype).tiny) if resolution is None else resolution
    scale = max(
        float(finite.max(initial=0.0)), loss_scale(params.get("reduction", "mean"), x.size) * floor
    )
    finite_grad = np.abs(expected_grad[np.isfinite(expected_grad)])
    largest_g = float(np.max(np.abs(cotangent), initial=1.0))
    grad_scale = max(float(finite_grad.max(initial=0.0)), floor * largest_g)
    return assert_value_and_gradient(
        fn,
        inputs,
        expected,
        expected_grad,
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"terms": terms, "scale": scale},
        grad_tolerance={"terms": terms, "scale": grad_scale},
        what=name,
        **params,
    )


L1_ORACLE = (oracle.l1_loss, oracle.l1_loss_vjp)
MSE_ORACLE = (oracle.mse_loss, oracle.mse_loss_vjp)


def check_against_loss_oracle(
    fn,
    loss_oracle,
    x,
    y,
    cotangent,
    reduction: str,
    device: str,
    dtype: torch.dtype,
    name: str,
    **params,
) -> tuple[torch.Tensor, np.ndarray]:
    """``check_against_oracle`` with the references of ``loss_oracle`` = (loss, vjp) at
    ``reduction``: fn(x, y, reduction=reduction, **params) against loss(x, y, reduction)."""
    loss, vjp = loss_oracle
    return check_against_oracle(
        fn,
        x,
        y,
        device=device,
        dtype=dtype,
        cotangent=cotangent,
        expected=loss(x, y, reduction),
        expected_grad=vjp(x, y, cotangent, reduction),
        name=name,
        reduction=reduction,
        **params,
    )


# --------------------------------------------------------------------------------------------
# REG-1: L1Loss = mean |x − y|, MSELoss = mean (x − y)², three reductions.


@pytest.mark.claim("REG-1")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_reg1_l1_and_mse_are_mean_absolute_and_squared_error(
    device, dtype, reduction, l1_loss, mse_loss, data
):
    """L1Loss = |x − y| and MSELoss = (x − y)² per element; Σ for 'sum', Σ/numel for 'mean'.

    Gradients g·sign(x − y) and 2·g·(x − y) (divided by numel for 'mean'), with L1's
    subgradient 0 where x = y (ties are drawn on purpose). Inputs of shape (N,), (N, D),
    (N, D1, D2), the empty batch included ('mean' of nothing is NaN, as 0/0), magnitudes up
    to 1e8 (or where the squares would overflow the dtype).
    """
    x, y = data.draw(regression_pairs(dtype), label="pair")
    cotangent = cotangent_for(data, x.shape, reduction, dtype)
    for name, fn, loss_oracle in (
        ("L1Loss", l1_loss, L1_ORACLE),
        ("MSELoss", mse_loss, MSE_ORACLE),
    ):
        check_against_loss_oracle(fn, loss_oracle, x, y, cotangent, reduction, device, dtype, name)


@pytest.mark.claim("REG-1")
def test_reg1_l1_gradient_at_a_tie_is_the_zero_subgradient(device, dtype, l1_loss):
    """Where x = y, L1's gradient is exactly 0: PyTorch takes sign(0) = 0 at the kink.

    Any value in [−1, 1] (per element, before the reduction's scaling) is a subgradient of
    |d| at 0; PyTorch picks 0, so a prediction that equals its target receives no update.
    """
    x = np.array([[0.0, 1.5, -2.0], [3.0, 0.25, -0.5]])
    y = np.array([[0.0, 1.5, 1.0], [3.0, -0.75, -0.5]])  # ties at (0,0), (0,1), (1,0), (1,2)
    for reduction in REDUCTIONS:
        cotangent = np.ones(x.shape) if reduction == "none" else np.array(1.0)
        _, grad = check_against_loss_oracle(
            l1_loss, L1_ORACLE, x, y, cotangent, reduction, device, dtype, f"L1Loss ({reduction})"
        )
        check(np.all(grad[x == y] == 0.0), "L1 gradient at a tie", grad, 0.0)
    recording.note("L1 gradient at x = y is the subgradient 0 (sign(0) = 0)")


@st.composite
def away_from_kinks(draw, kink: float | None, *, n_max: int = 3, d_max: int = 3):
    """(input, target) in float64 with every |x − y| at least KINK_MARGIN·(1 + kink) above
    ``kink`` or KINK_MARGIN·kink below it, and at least KINK_MARGIN·kink from a tie.

    ``kink`` is the |d| where the loss's derivative is not smooth (0 for L1, β for the second
    derivative of SmoothL1 and Huber; ``None`` for none): errors are drawn on either side of it.
    No error is a tie (d = 0) where a loss is smooth: autograd differentiates |d|² as
    2|d|·sign(d), whose derivative at d = 0 is sign(0)² = 0, so a loss written through |d| (as
    detectron2's smooth_l1_loss is) would have a zero second derivative at a tie alone, with
    right values and gradients everywhere; ties are the values and gradient specs' to check.
    """
    shape = (draw(st.integers(1, n_max)), draw(st.integers(1, d_max)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5.0, 5.0)))
    if kink is None:
        sizes = st.floats(KINK_MARGIN, 5.0)
    else:
        above = st.floats(kink + KINK_MARGIN * (1 + kink), kink + 5.0 * (1 + kink))
        below = (
            st.floats(KINK_MARGIN * kink, kink * (1 - KINK_MARGIN)) if kink > 0 else st.nothing()
        )
        sizes = st.one_of(below, above)
    size = draw(hnp.arrays(np.float64, shape, elements=sizes))
    sign = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    return y + sign * size, y


@pytest.mark.claim("REG-1")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_reg1_gradcheck_and_gradgradcheck(device, dtype, l1_loss, mse_loss, data):
    """L1 and MSE pass ``gradcheck`` and ``gradgradcheck`` in float64 (drawn reduction).

    L1 is checked with every |x − y| ≥ 0.01: at the kink d = 0 the one-sided slopes are
    ±1 and finite differences straddling it see neither (PyTorch's subgradient there is 0,
    pinned by ``test_reg1_l1_gradient_at_a_tie_is_the_zero_subgradient``).
    """
    reduction = data.draw(vs.reductions(), label="reduction")
    for name, loss, kink in (("L1", l1_loss, 0.0), ("MSE", mse_loss, None)):
        x, y = data.draw(away_from_kinks(kink), label="pair")
        xt = to_device(x, device, dtype, requires_grad=True)
        yt = to_device(y, device, dtype)

        def fn(a, loss=loss, yt=yt):
            return loss(a, yt, reduction=reduction)

        check_gradients(fn, [xt], what=f"{name} ({reduction})", second_order=True)


# --------------------------------------------------------------------------------------------
# REG-2: SmoothL1(β) and Huber(δ).


@st.composite
def smooth_l1_cases(draw, dtype: torch.dtype):
    """β over six orders of magnitude and errors from β/10 to 100·β around it.

    The error magnitude is β times a drawn ratio, so both branches (|d| < β and |d| ≥ β)
    appear; it is capped where the squares would overflow the dtype.
    """
    beta = draw(scales(), label="beta")
    ratio = draw(scales(low=-1.0, high=2.0), label="ratio")
    cap = max(error_magnitudes(dtype, MAX_SIZE))
    magnitude = min(beta * ratio, cap)
    x, y = draw(regression_pairs(dtype, magnitude=magnitude, min_n=1), label="pair")
    return beta, x, y


def _check_huber_identity(x, beta, reduction, cotangent, smooth_l1, huber) -> None:
    """Between the float64 oracles ``smooth_l1`` and ``huber`` (each (value, gradient)):
    Huber(δ) = δ·SmoothL1(δ), values and gradients."""
    terms = max(x.size, 1)
    # Tiny errors (|d| below ~1e-154) make 0.5·d² and d/β float64 subnormals, whose absolute
    # error (up to eps·tiny) the factor δ scales back up: the identity holds to tiny·max(1, δ)
    # per element (times numel for 'sum', times |g| for gradients).
    floor = float(torch.finfo(torch.float64).tiny) * max(1.0, beta) * loss_scale(reduction, x.size)
    largest_g = float(np.max(np.abs(cotangent), initial=1.0))
    for name, left, right, size in (
        ("Huber(δ) = δ·SmoothL1(δ)", beta * smooth_l1[0], huber[0], floor),
        ("∂Huber(δ) = δ·∂SmoothL1(δ)", beta * smooth_l1[1], huber[1], floor * largest_g),
    ):
        finite = np.abs(right[np.isfinite(right)])
        assert_close(
            left,
            right,
            dtype=torch.float64,
            terms=terms,
            scale=max(float(finite.max(initial=0.0)), size),
            what=f"oracle identity {name}",
        )


@pytest.mark.claim("REG-2")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_reg2_smooth_l1_and_huber_match_piecewise_definitions(
    device, dtype, reduction, smooth_l1_loss, huber_loss, data
):
    """SmoothL1(β) is 0.5·d²/β inside |d| < β, |d| − 0.5·β outside; Huber(δ) = δ·SmoothL1(δ).

    Gradients d/β inside and sign(d) outside for SmoothL1; Huber's are δ times those with
    β = δ (d inside, δ·sign(d) outside). β = δ is drawn from 1e-3 to 1e3 with errors on
    both sides of it, every reduction. The identity δ·(0.5·d²/δ) = 0.5·d²,
    δ·(|d| − 0.5·δ) = Huber's outer branch, is asserted between the float64 oracles; then
    SmoothL1Loss(β) and HuberLoss(δ) are each held to their own oracle, so torch's Huber(δ)
    is δ·SmoothL1(β=δ) within the tolerances.
    """
    beta, x, y = data.draw(smooth_l1_cases(dtype), label="case")
    cotangent = cotangent_for(data, x.shape, reduction, dtype)
    huber = oracle.huber_loss(x, y, reduction, beta)
    huber_grad = oracle.huber_loss_vjp(x, y, cotangent, reduction, beta)
    smooth_l1 = oracle.smooth_l1_loss(x, y, reduction, beta)
    smooth_l1_grad = oracle.smooth_l1_loss_vjp(x, y, cotangent, reduction, beta)
    _check_huber_identity(
        x, beta, reduction, cotangent, (smooth_l1, smooth_l1_grad), (huber, huber_grad)
    )

    # Huber's 0.5·d² has no division by β: its underflow floor is the dtype's smallest normal.
    # With the oracle identity, holding each torch loss to its own oracle shows the identity.
    tiny = float(torch.finfo(dtype).tiny)
    resolution = smooth_l1_resolution(dtype, beta)
    sides = (
        ("SmoothL1Loss", smooth_l1_loss, {"beta": beta}, smooth_l1, smooth_l1_grad, resolution),
        ("HuberLoss", huber_loss, {"delta": beta}, huber, huber_grad, tiny),
    )
    for name, fn, params, expected, expected_grad, resolution in sides:
        check_against_oracle(
            fn,
            x,
            y,
            device=device,
            dtype=dtype,
            cotangent=cotangent,
            expected=expected,
            expected_grad=expected_grad,
            name=f"{name} (β = δ = {beta:g})",
            resolution=resolution,
            reduction=reduction,
            **params,
        )


@pytest.mark.claim("REG-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_reg2_inside_unit_interval_smooth_l1_is_half_mse(device, dtype, smooth_l1_loss, data):
    """Inside (−1, 1), SmoothL1(β=1) = 0.5·MSE, not MSE ("it is the L2 loss" up to a factor 1/2).

    0.5·d²/β equals d² only for β = 1/2; with the default β = 1 it is half the squared
    error, and its gradient d is half of MSE's 2d. With |x|, |y| ≤ 1/2 (so |d| ≤ 1), the spec
    holds SmoothL1 to 0.5·MSE (values and gradients, each example in all three reductions)
    and shows it is not MSE once some |d| ≥ 1e-3.
    """
    x, y = data.draw(regression_pairs(dtype, magnitude=0.5), label="pair")
    assume(np.max(np.abs(x - y), initial=0.0) >= 1e-3)  # an error to tell d² from 0.5·d² by
    for reduction in REDUCTIONS:
        cotangent = cotangent_for(data, x.shape, reduction, dtype)
        mse = oracle.mse_loss(x, y, reduction)
        value, _ = check_against_oracle(
            smooth_l1_loss,
            x,
            y,
            device=device,
            dtype=dtype,
            cotangent=cotangent,
            expected=0.5 * mse,
            expected_grad=0.5 * oracle.mse_loss_vjp(x, y, cotangent, reduction),
            name=f"SmoothL1Loss(beta=1) against 0.5·MSE ({reduction})",
            reduction=reduction,
            beta=1.0,
        )
        check_differs(
            value, mse, f"SmoothL1(β=1) against MSE ({reduction})", dtype=dtype, terms=x.size
        )
    recording.note("inside (−1, 1) SmoothL1(β=1) = 0.5·MSE, not MSE: d = 0.5 gives 0.125 vs 0.25")


def boundary_offsets(dtype: torch.dtype) -> np.ndarray:
    """Relative offsets δ = 10^-1 … 10^-k from |d| = β, down to ~1000 ulps of the dtype."""
    smallest = 1e3 * float(torch.finfo(dtype).eps)
    return np.array([10.0**-k for k in range(1, 16) if 10.0**-k >= smallest])


@pytest.mark.claim("REG-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_reg2_continuous_with_continuous_slope_at_beta(
    device, dtype, smooth_l1_loss, huber_loss, data
):
    """SmoothL1(β) and Huber(δ) are C¹ at |d| = β: both sides' values and slopes converge.

    At d = ±β(1 ± δ) for δ = 10^-1, 10^-2, … (down to ~1000 ulps), the jumps between the two
    sides, f(β(1 + δ)) − f(β(1 − δ)) = β·(2δ − δ²/2) and f'(β(1 + δ)) − f'(β(1 − δ)) = δ
    for SmoothL1 (Huber: δ_H times both, with β = δ_H), tend to 0 linearly in δ. A jump of
    size c in the value or the slope would add c to every one of them. Each side's value and
    slope is held to the oracle at the rounded point, and the jumps are compared with the
    oracle's jumps: the error of a difference of two values near β/2 is measured against β
    (``scale``), of two slopes near 1 against 1. The points include |d| = β itself (value
    β/2, slope ±1; Huber β²/2 and ±β), the common limit of both sides.
    """
    beta = data.draw(scales(), label="beta")
    sign = data.draw(st.sampled_from([-1.0, 1.0]), label="sign")
    target = rounded(np.array([data.draw(st.floats(-10.0, 10.0), label="target") * beta]), dtype)
    offsets = boundary_offsets(dtype)
    errors = sign * beta * np.concatenate([1.0 - offsets, 1.0 + offsets, [1.0]])
    x = rounded(target + errors, dtype)
    y = np.broadcast_to(target, x.shape).copy()
    k = len(offsets)
    for name, fn, params, factor in (
        (f"SmoothL1Loss(beta={beta:g})", smooth_l1_loss, {"beta": beta}, 1.0),
        (f"HuberLoss(delta={beta:g})", huber_loss, {"delta": beta}, beta),
    ):
        expected = factor * oracle.smooth_l1_loss(x, y, "none", beta)
        expected_slope = factor * oracle.smooth_l1_loss_vjp(x, y, 1.0, "none", beta)
        value, slope = value_and_grad(
            fn,
            [to_device(x, device, dtype), to_device(y, device, dtype)],
            cotangent=1.0,
            reduction="none",
            **params,
        )
        value = value.to("cpu", torch.float64).numpy()
        assert_close(value, expected, dtype=dtype, what=f"{name} value at β(1 ± δ)")
        assert_close(slope, expected_slope, dtype=dtype, what=f"{name} slope at β(1 ± δ)")
        assert_close(
            value[k : 2 * k] - value[:k],
            expected[k : 2 * k] - expected[:k],
            dtype=dtype,
            scale=factor * beta,
            what=f"{name} value jump across β",
        )
        assert_close(
            slope[k : 2 * k] - slope[:k],
            expected_slope[k : 2 * k] - expected_slope[:k],
            dtype=dtype,
            scale=factor,
            what=f"{name} slope jump across β",
        )
    recording.note("value and slope jumps across |d| = β shrink linearly with the offset")


@pytest.mark.claim("REG-2")
@given(data=st.data())
def test_reg2_smooth_l1_within_beta_over_2_of_l1(device, dtype, smooth_l1_loss, data):
    """0 ≤ |d| − SmoothL1_β(d) ≤ β/2 for every d, so SmoothL1_β → L1 as β → 0.

    Inside |d| < β the gap is |d| − 0.5·d²/β ∈ [0, β/2) (largest at |d| = β); outside it is
    exactly β/2. The gap is measured from torch's SmoothL1 to the float64 |d| and held to its
    clipping to [0, β/2]; the rounding error is that of a loss value of size max|d| (in
    float16 at least ``smooth_l1_resolution``: there, small β is not resolved).
    β spans 1e-6 to 1e3.
    """
    beta = data.draw(scales(low=-6.0), label="beta")
    cap = max(error_magnitudes(dtype, MAX_SIZE))
    ratio = data.draw(scales(low=-1.0, high=3.0), label="ratio")
    x, y = data.draw(regression_pairs(dtype, magnitude=min(beta * ratio, cap)), label="pair")
    value, _ = value_and_grad(
        smooth_l1_loss,
        [to_device(x, device, dtype), to_device(y, device, dtype)],
        cotangent=1.0,
        reduction="none",
        beta=beta,
    )
    l1 = oracle.l1_loss(x, y, "none")
    gap = l1 - value.to("cpu", torch.float64).numpy()
    assert_close(
        gap,
        np.clip(gap, 0.0, beta / 2),
        dtype=dtype,
        scale=max(float(np.max(l1, initial=0.0)), smooth_l1_resolution(dtype, beta)),
        what=f"|d| − SmoothL1(beta={beta:g}) within [0, β/2]",
    )


@pytest.mark.claim("REG-2")
@given(data=st.data())
def test_reg2_beta_zero_is_l1(device, dtype, smooth_l1_loss, l1_loss, data):
    """SmoothL1(β=0) is L1, values and gradients (subgradient 0 at ties), bit for bit.

    PyTorch sends β = 0 to ``l1_loss``: SmoothL1(β=0) is held to the L1 oracle (L1Loss itself
    is, by the REG-1 spec) and then to L1Loss exactly, each example in all three reductions.
    """
    x, y = data.draw(regression_pairs(dtype), label="pair")
    inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
    for reduction in REDUCTIONS:
        cotangent = cotangent_for(data, x.shape, reduction, dtype)
        sl1, sl1_grad = check_against_oracle(
            smooth_l1_loss,
            x,
            y,
            device=device,
            dtype=dtype,
            cotangent=cotangent,
            expected=oracle.l1_loss(x, y, reduction),
            expected_grad=oracle.l1_loss_vjp(x, y, cotangent, reduction),
            name=f"SmoothL1Loss(beta=0) ({reduction})",
            reduction=reduction,
            beta=0.0,
        )
        l1, l1_grad = value_and_grad(l1_loss, inputs, cotangent=cotangent, reduction=reduction)
        same = torch.equal(sl1, l1) or bool(sl1.isnan().all() and l1.isnan().all())
        check(same, "SmoothL1(β=0)", sl1, f"L1 exactly: {l1}")
        np.testing.assert_array_equal(sl1_grad, l1_grad)


@pytest.mark.claim("REG-2")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_reg2_gradcheck_and_gradgradcheck(device, dtype, smooth_l1_loss, huber_loss, data):
    """SmoothL1 and Huber pass ``gradcheck`` and ``gradgradcheck`` in float64 away from β.

    The second derivative jumps at |d| = β (1/β inside, 0 outside), so every |d| stays at
    least 1% of β (plus 0.01) away from it. The reduction is drawn.
    """
    beta = data.draw(scales(low=-1.0, high=1.0), label="beta")
    reduction = data.draw(vs.reductions(), label="reduction")
    x, y = data.draw(away_from_kinks(beta), label="pair")
    xt = to_device(x, device, dtype, requires_grad=True)
    yt = to_device(y, device, dtype)
    for name, loss, params in (
        ("SmoothL1", smooth_l1_loss, {"beta": beta}),
        ("Huber", huber_loss, {"delta": beta}),
    ):

        def fn(a, loss=loss, params=params):
            return loss(a, yt, reduction=reduction, **params)

        check_gradients(fn, [xt], what=f"{name} ({reduction})", second_order=True)


# --------------------------------------------------------------------------------------------
# REG-3: SmoothL1's gradient is bounded by 1; MSE's grows linearly with the error.


def _draw_large_errors(data, dtype: torch.dtype) -> tuple[float, np.ndarray, np.ndarray]:
    """β from 1e-3 to 1e3 and (x, y) with every |x − y| ≥ 1, up to where the squares overflow
    the dtype (rounded to it)."""
    beta = data.draw(scales(), label="beta")
    shape = data.draw(regression_shapes(min_n=1), label="shape")
    size = math.prod(shape)
    magnitude = data.draw(st.sampled_from(error_magnitudes(dtype, size)), label="magnitude")
    target = data.draw(
        hnp.arrays(np.float64, shape, elements=st.floats(-magnitude / 2, magnitude / 2)),
        label="target",
    )
    error = data.draw(
        hnp.arrays(np.float64, shape, elements=st.floats(1.0, max(magnitude / 2, 1.0))),
        label="|error|",
    )
    sign = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    y = rounded(target, dtype)
    x = rounded(y + sign * error, dtype)
    assume(np.all(np.abs(x - y) >= 1.0))
    return beta, x, y


@pytest.mark.claim("REG-3")
@given(data=st.data())
def test_reg3_smooth_l1_gradient_bounded_mse_gradient_linear(
    device, dtype, smooth_l1_loss, mse_loss, data
):
    """|∂SmoothL1/∂x| ≤ 1 per element for any error and any β; |∂MSE/∂x| = 2|d| is unbounded.

    With a unit upstream gradient: per element for 'none' and 'sum', and ≤ 1/numel for
    'mean' (the mean scales every element's gradient by 1/numel); each example is checked in
    all three reductions. Errors are large (|d| ≥ 1, up to where the squares overflow the
    dtype), β from 1e-3 to 1e3. MSE's gradient is 2·d (/numel): linear in d, so it exceeds
    SmoothL1's bound wherever |d| > 1/2, here everywhere. The values are REG-1's and REG-2's
    business; here only the gradients are held to the oracle and to the bound. (Huber's
    gradient is bounded by δ, not 1: Huber(δ) = δ·SmoothL1(δ).)
    """
    beta, x, y = _draw_large_errors(data, dtype)
    shape, size = x.shape, x.size
    for reduction in REDUCTIONS:
        cotangent = np.ones(shape) if reduction == "none" else np.array(1.0)
        bound = 1.0 / size if reduction == "mean" else 1.0
        inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
        _, grad = value_and_grad(
            smooth_l1_loss, inputs, cotangent=cotangent, reduction=reduction, beta=beta
        )
        assert_close(
            grad,
            oracle.smooth_l1_loss_vjp(x, y, cotangent, reduction, beta),
            dtype=dtype,
            terms=size,
            what=f"SmoothL1Loss(beta={beta:g}) gradient ({reduction})",
        )
        assert_close(
            grad,
            np.clip(grad, -bound, bound),
            dtype=dtype,
            terms=size,
            scale=bound,
            what=f"SmoothL1Loss(beta={beta:g}) gradient within ±{bound:g} ({reduction})",
        )
        _, mse_grad = value_and_grad(mse_loss, inputs, cotangent=cotangent, reduction=reduction)
        assert_close(
            mse_grad / (x - y),
            np.full(shape, 2.0 * bound),
            dtype=dtype,
            terms=size,
            what=f"MSELoss gradient / d (linear growth, slope 2; {reduction})",
        )
        # |d| ≥ 1, so |∂MSE/∂x| = 2|d|·bound ≥ 2·bound: twice SmoothL1's bound, however rounded.
        check(
            np.all(np.abs(mse_grad) > bound),
            f"|MSE gradient| ({reduction})",
            mse_grad,
            f"above {bound:g}",
        )
