"""Focal loss family: FL-1 … FL-7 (Lin et al., 2017, "Focal Loss for Dense Object Detection").

There is no focal loss in torch itself, so the implementations under claim are the forms the
claims talk about, written here from their published definitions, a few lines each:

- ``torchvision_sigmoid_focal_loss``: ``torchvision.ops.sigmoid_focal_loss``;
- ``focal_loss_wrapping_bce``: the YOLOv5-style ``FocalLoss(nn.BCEWithLogitsLoss())``;
- ``logsigmoid_focal_loss``: log σ(x), log σ(−x) and |y − σ(x)|^γ, no α (FL-5);
- ``probability_focal_loss``: the focal loss on probabilities (FL-3);
- ``nll_softmax_focal_loss`` and ``gathered_softmax_focal_loss``: the multi-class forms (FL-6);
- ``bce_shortcut_pt``: p_t = exp(−BCEWithLogits) (FL-7).

Each is a pytest parameter, so that ``tests/test_planted_focal_loss.py`` can swap in a planted bug.
Every value and gradient is held to the float64 oracle in ``verify.oracles.focal``.

Tolerances. The implementations form 1 − p_t (and σ(x) − y) by cancellation, with absolute
error ε, and multiply it into terms of size up to α_t·(1 + γ)·ce, where ce carries the
log-domain error ε·(1 + |x| + log 2). So values are compared with that condition and scale
(1 + γ)·max α_t (times the batch for 'sum'), gradients against
``sigmoid_focal_loss_gradient_bound``; ``pointwise=True`` because every intermediate of these
composites is rounded to the dtype.

Measured beyond the claims (see ``test_fl1_fractional_gamma_*`` and
``test_fl6_fractional_gamma_*``): for 0 < γ < 1 the modulating factor (1 − p_t)^γ has an
infinite derivative at 1 − p_t = 0; once 1 − p_t rounds to 0 (|x| ≳ 17 in float32) autograd
multiplies that infinity by a zero and the gradient is NaN, in torchvision's form and in the
softmax NLL form (there even for a confidently *wrong* prediction, through a non-target class
with p = 1). Gradients therefore hold for γ = 0 and γ ≥ 1 everywhere, and for 0 < γ < 1 only
where 1 − p_t does not round to 0. The values hold for every γ ≥ 0.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from specs.oracle_checks import (
    Expected,
    assert_matches_oracle,
    logsumexp_tolerance,
    softplus_tolerance,
)
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip, value_and_grad
from verify.checks import check, check_differs, check_gradients
from verify.devices import (
    dtype_name,
    params_rounded,
    params_to_device,
    rounded,
    to_device,
    to_numpy,
)
from verify.oracles import focal
from verify.oracles.reduction import REDUCTIONS, expand_cotangent
from verify.stand_ins import (
    bce_shortcut_pt,
    explicit_pt,
    focal_loss_wrapping_bce,
    gathered_softmax_focal_loss,
    log_of_sigmoid_focal_loss,
    logsigmoid_focal_loss,
    nll_softmax_focal_loss,
    probability_focal_loss,
    torchvision_sigmoid_focal_loss,
)
from verify.tolerances import (
    assert_close,
    assert_matches_published,
    logsumexp_condition,
    loss_scale,
    softplus_condition,
    tolerance,
)

# torch has no focal loss: the specs check widely copied forms (replaced by --impl).
SIGMOID_FOCAL = pytest.mark.implementations(
    "sigmoid_focal_loss", {"torchvision-style": torchvision_sigmoid_focal_loss}
)
WRAPPED_FOCAL = pytest.mark.parametrize(
    "wrapped_focal_loss", [focal_loss_wrapping_bce], ids=["wraps-BCEWithLogitsLoss"]
)
SOFTMAX_FOCAL = pytest.mark.implementations(
    "softmax_focal_loss", {"nll-of-modulated-log-softmax": nll_softmax_focal_loss}
)
SOFTMAX_FOCAL_FORMS = pytest.mark.implementations(
    "softmax_focal_loss",
    {
        "nll-of-modulated-log-softmax": nll_softmax_focal_loss,
        "gathered-mean": gathered_softmax_focal_loss,
    },
)

# --------------------------------------------------------------------------------------------
# Inputs and tolerances.

ALPHAS = st.one_of(
    st.sampled_from([-1.0, 0.0, 0.25, 1.0]), st.floats(0.0, 1.0, allow_subnormal=False)
)
UNIT_ALPHAS = st.one_of(
    st.sampled_from([0.0, 0.25, 1.0]), st.floats(0.0, 1.0, allow_subnormal=False)
)
# γ = 0 or γ ≥ 1: where (1 − p_t)^γ has a bounded derivative (see the module docstring).
SMOOTH_GAMMAS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 5.0]), st.floats(1.0, 5.0))
FRACTIONAL_GAMMAS = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)


def draw_alpha(data, dtype, strategy=ALPHAS) -> float:
    """α rounded to the dtype, as the implementations' α·y and (1 − α)·(1 − y) see it."""
    return float(rounded(np.array(data.draw(strategy, label="alpha")), dtype))


@st.composite
def binary_cases(draw, dtype, reduction, *, soft=False, bound=None, min_n=0, max_n=5):
    """Rounded (logits, targets, cotangent) of shape (n, c), logits up to ``bound``."""
    shape = (draw(st.integers(min_n, max_n)), draw(st.integers(1, 3)))
    x = draw(vs.logits(shape, vs.logit_bound(dtype) if bound is None else bound))
    y = draw(vs.binary_targets(shape, soft=soft))
    g = draw(vs.cotangents(shape if reduction == "none" else ()))
    return rounded(x, dtype), rounded(y, dtype), rounded(g, dtype)


def focal_scale(target, alpha, gamma, reduction) -> float:
    """(1 + γ)·max α_t (times the element count for 'sum'): the size of the focal terms."""
    y = np.asarray(target)
    return (1.0 + gamma) * loss_scale(reduction, y.size, focal.alpha_factor(y, alpha))


def floored(scale: float, dtype: torch.dtype) -> float:
    """``scale`` raised to the dtype's smallest normal number, as the default scale of
    ``assert_close`` is: a loss made of subnormal terms (a subnormal soft label or weight) is
    only held to the dtype's resolution there."""
    return max(scale, torch.finfo(dtype).tiny)


def unsaturated_bound(dtype: torch.dtype) -> float:
    """log(1/ε) − 1: for |x| below it σ(±x) > ε, so 1 − p_t never rounds to 0."""
    return math.log(1.0 / torch.finfo(dtype).eps) - 1.0


def saturating_logit(dtype: torch.dtype) -> float:
    """1 + log(2/ε): σ(x) rounds to 1 there, so 1 − p_t rounds to 0 for y = 1."""
    return 1.0 + math.log(2.0 / torch.finfo(dtype).eps)


def first_true(predicate, lo: float, hi: float, dtype: torch.dtype) -> float:
    """The smallest value x of ``dtype`` in [lo, hi] with ``predicate(x)`` (monotone in x)."""
    ends = (predicate(rounded(np.array(lo), dtype)), predicate(rounded(np.array(hi), dtype)))
    check(ends == (False, True), f"predicate at [{lo}, {hi}]", ends, (False, True))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if predicate(rounded(np.array(mid), dtype)):
            hi = mid
        else:
            lo = mid
    return float(rounded(np.array(hi), dtype))


def check_binary_focal(
    fn,
    x,
    y,
    g,
    device,
    dtype,
    *,
    alpha,
    gamma,
    reduction,
    what="sigmoid_focal_loss",
    takes_alpha=True,
):
    """``fn(x, y, [alpha,] gamma, reduction)``'s value and gradient against the focal oracle."""
    params = {"gamma": gamma, "reduction": reduction} | ({"alpha": alpha} if takes_alpha else {})
    expected = Expected(
        focal.sigmoid_focal_loss(x, y, alpha, gamma, reduction),
        focal.sigmoid_focal_loss_vjp(x, y, g, alpha, gamma, reduction),
        floored(focal_scale(y, alpha, gamma, reduction), dtype),
        floored(focal.sigmoid_focal_loss_gradient_bound(x, y, g, alpha, gamma, reduction), dtype),
    )
    inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
    tolerance = softplus_tolerance(x)
    return assert_matches_oracle(
        fn, inputs, expected, cotangent=g, dtype=dtype, tolerance=tolerance, what=what, **params
    )


# --------------------------------------------------------------------------------------------
# FL-1


@pytest.mark.claim("FL-1")
@SIGMOID_FOCAL
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl1_sigmoid_focal_loss_matches_definition(
    device, dtype, reduction, sigmoid_focal_loss, data
):
    """FL = −α_t(1 − p_t)^γ log p_t, values and gradients, over α ∈ [0, 1] and α < 0 (α_t = 1),
    γ ∈ {0} ∪ [1, 5], hard labels, logits up to ``logit_bound``, every reduction."""
    alpha, gamma = draw_alpha(data, dtype), data.draw(SMOOTH_GAMMAS, label="gamma")
    x, y, g = data.draw(binary_cases(dtype, reduction), label="case")
    check_binary_focal(
        sigmoid_focal_loss,
        x,
        y,
        g,
        device,
        dtype,
        alpha=alpha,
        gamma=gamma,
        reduction=reduction,
        what="sigmoid_focal_loss",
    )


@pytest.mark.claim("FL-1")
@SIGMOID_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl1_gamma_zero_is_alpha_weighted_bce(
    device, dtype, reduction, sigmoid_focal_loss, binary_cross_entropy_with_logits, data
):
    """With γ = 0 the focal loss is BCEWithLogitsLoss(weight=α_t); with α disabled (α < 0,
    α_t = 1) it is BCEWithLogitsLoss itself. Values and gradients, both sides against the
    oracle of the weighted BCE."""
    alpha = draw_alpha(data, dtype)
    x, y, g = data.draw(binary_cases(dtype, reduction), label="case")
    weight = None if alpha < 0 else rounded(focal.alpha_factor(y, alpha), dtype)
    expected = Expected(
        oracles.binary_cross_entropy_with_logits(x, y, weight, reduction=reduction),
        oracles.binary_cross_entropy_with_logits_vjp(x, y, g, weight, reduction=reduction),
        floored(focal_scale(y, alpha, 0.0, reduction), dtype),
        floored(
            oracles.binary_cross_entropy_with_logits_gradient_bound(
                x, y, g, weight, reduction=reduction
            ),
            dtype,
        ),
    )
    bce_params = {"reduction": reduction}
    if weight is not None:
        bce_params["weight"] = to_device(weight, device, dtype)
    sides = {
        "sigmoid_focal_loss(γ = 0)": (
            sigmoid_focal_loss,
            {"alpha": alpha, "gamma": 0.0, "reduction": reduction},
        ),
        "BCEWithLogitsLoss(weight = α_t)": (binary_cross_entropy_with_logits, bce_params),
    }
    inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
    tolerance = softplus_tolerance(x)
    for name, (fn, params) in sides.items():
        assert_matches_oracle(
            fn, inputs, expected, cotangent=g, dtype=dtype, tolerance=tolerance, what=name, **params
        )


@pytest.mark.claim("FL-1")
@SIGMOID_FOCAL
@given(data=st.data())
def test_fl1_fractional_gamma_gradient_where_one_minus_pt_is_representable(
    device, dtype, sigmoid_focal_loss, data
):
    """For 0 < γ < 1, values and gradients hold while |x| < log(1/ε) − 1 (1 − p_t ≥ ε)."""
    alpha, gamma = draw_alpha(data, dtype), data.draw(FRACTIONAL_GAMMAS, label="gamma")
    x, y, g = data.draw(binary_cases(dtype, "none", bound=unsaturated_bound(dtype)), label="case")
    check_binary_focal(
        sigmoid_focal_loss, x, y, g, device, dtype, alpha=alpha, gamma=gamma, reduction="none"
    )


@pytest.mark.implementation_detail(
    "the NaN gradient of the probability-space modulator is a defect of the torchvision "
    "form; the contract's gradient is finite"
)
@pytest.mark.claim("FL-1")
@SIGMOID_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_fl1_fractional_gamma_gradient_is_nan_once_one_minus_pt_rounds_to_zero(
    device, dtype, sigmoid_focal_loss
):
    """For 0 < γ < 1 the gradient is NaN where 1 − p_t rounds to 0: an easy positive once σ(x)
    rounds to 1, an easy negative once 1 − σ(x) does (|x| ≈ 17 in float32, 37 in float64):
    d(m^γ)/dm = γ·0^(γ−1) = inf meets dm/dx = 0. The true gradient there is finite (and tiny);
    γ = 0 and γ ≥ 1 stay finite. The boundaries are found by bisection and noted."""
    s = saturating_logit(dtype) + 1.0
    x, y = np.array([s, -s]), np.array([1.0, 0.0])
    expected = focal.sigmoid_focal_loss_vjp(rounded(x, dtype), y, 1.0, 0.25, 0.5, "none")
    check(np.all(np.isfinite(expected)), "oracle gradient at saturation", expected, "finite")

    def gradient(gamma, logits, labels):
        inputs = [to_device(logits, device, dtype), to_device(labels, device, dtype)]
        return value_and_grad(
            sigmoid_focal_loss, inputs, cotangent=1.0, alpha=0.25, gamma=gamma, reduction="sum"
        )[1]

    check(np.all(np.isnan(gradient(0.5, x, y))), "gradient at γ = 0.5", gradient(0.5, x, y), "NaN")
    for gamma in (0.0, 1.0, 2.0):
        check(
            np.all(np.isfinite(gradient(gamma, x, y))),
            f"gradient at γ = {gamma}",
            gradient(gamma, x, y),
            "finite",
        )
    positive = first_true(
        lambda v: bool(np.isnan(gradient(0.5, np.atleast_1d(v), np.ones(1))).any()), 0.0, s, dtype
    )
    negative = first_true(
        lambda v: bool(np.isnan(gradient(0.5, -np.atleast_1d(v), np.zeros(1))).any()), 0.0, s, dtype
    )
    recording.note(
        f"boundary: for 0 < γ < 1 the torchvision-style gradient is NaN once 1 − p_t rounds to "
        f"0: y = 1 from x = {positive:.6g}, y = 0 from x = {-negative:.6g} in {dtype_name(dtype)} "
        f"(values stay correct; γ = 0 and γ ≥ 1 finite)"
    )


@pytest.mark.claim("FL-1")
@SIGMOID_FOCAL
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_fl1_gradcheck(device, dtype, sigmoid_focal_loss, data):
    """The torchvision-style focal loss passes ``torch.autograd.gradcheck`` (float64)."""
    alpha, gamma = draw_alpha(data, dtype), data.draw(SMOOTH_GAMMAS, label="gamma")
    x, y, _ = data.draw(binary_cases(dtype, "sum", bound=30.0, min_n=1, max_n=3), label="case")
    x_t = to_device(x, device, dtype, requires_grad=True)
    y_t = to_device(y, device, dtype)
    check_gradients(
        lambda z: sigmoid_focal_loss(z, y_t, alpha=alpha, gamma=gamma, reduction="sum"),
        [x_t],
        what="sigmoid focal loss",
    )


# --------------------------------------------------------------------------------------------
# FL-2


@pytest.mark.implementation_detail(
    "exact in floating point only when FL is computed from the same BCE (the torchvision "
    "form); the ratio spec below holds other implementations to FL/BCE = α_t·(1 − p_t)^γ"
)
@pytest.mark.claim("FL-2")
@SIGMOID_FOCAL
@pytest.mark.dtypes(torch.float32, torch.bfloat16)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl2_focal_never_exceeds_alpha_weighted_bce(
    device, dtype, reduction, sigmoid_focal_loss, binary_cross_entropy_with_logits, data
):
    """FL ≤ α_t·BCE for every γ ≥ 0, exactly, also in floating point.

    (1 − p_t)^γ ≤ 1 (computed 1 − p_t lies in [0, 1]), and rounding is monotone: the computed
    ce·(1 − p_t)^γ·α_t never exceeds the computed α_t·ce, elementwise and after the same
    reduction. Checked on the oracle too.
    """
    alpha = draw_alpha(data, dtype)
    gamma = data.draw(st.one_of(SMOOTH_GAMMAS, FRACTIONAL_GAMMAS), label="gamma")
    x, y, _ = data.draw(binary_cases(dtype, reduction), label="case")
    oracle_focal = focal.sigmoid_focal_loss(x, y, alpha, gamma, "none")
    oracle_bce = oracles.binary_cross_entropy_with_logits(
        x, y, focal.alpha_factor(y, alpha), reduction="none"
    )
    check(
        np.all(oracle_focal <= oracle_bce),
        "oracle FL",
        oracle_focal,
        f"at most α_t·BCE {oracle_bce}",
    )
    x_t, y_t = to_device(x, device, dtype), to_device(y, device, dtype)
    params = {"reduction": reduction}
    if alpha >= 0:  # α_t formed in the dtype exactly as the focal loss forms it
        params["weight"] = alpha * y_t + (1 - alpha) * (1 - y_t)
    fl = call_or_skip(sigmoid_focal_loss, x_t, y_t, alpha=alpha, gamma=gamma, reduction=reduction)
    bce = call_or_skip(binary_cross_entropy_with_logits, x_t, y_t, **params)
    fl, bce = fl.detach().cpu().double().numpy(), bce.detach().cpu().double().numpy()
    exceeds = ~(fl <= bce) & ~(np.isnan(fl) & np.isnan(bce))
    check(
        not np.any(exceeds),
        f"focal loss exceeds α_t·BCE (α = {alpha}, γ = {gamma})",
        fl[exceeds],
        f"at most {bce[exceeds]}",
    )


@pytest.mark.claim("FL-2")
@SIGMOID_FOCAL
@given(data=st.data())
def test_fl2_ratio_to_bce_is_the_modulating_factor(
    device, dtype, sigmoid_focal_loss, binary_cross_entropy_with_logits, data
):
    """FL/BCE = α_t·(1 − p_t)^γ, elementwise wherever BCE is a normal number; so for γ > 0
    it falls to 0 as p_t → 1 (easy examples), e.g. like σ(−x)^γ for an easy positive.

    The computed 1 − p_t has absolute error ε, so for γ ≥ 1 the ratio has absolute error
    ~(1 + γ)·ε; for 0 < γ < 1 it would be ε^γ (Hölder, not Lipschitz), hence γ ∈ {0} ∪ [1, 5].
    """
    alpha, gamma = draw_alpha(data, dtype), data.draw(SMOOTH_GAMMAS, label="gamma")
    x, y, _ = data.draw(binary_cases(dtype, "none", min_n=1), label="case")
    x_t, y_t = to_device(x, device, dtype), to_device(y, device, dtype)
    fl = call_or_skip(sigmoid_focal_loss, x_t, y_t, alpha=alpha, gamma=gamma, reduction="none")
    fl = fl.detach().cpu().double().numpy()
    # Divide by the exact BCE where torch's own is accurate: the torchvision form multiplies
    # torch's BCE, which loses precision for y = 0, x ≪ 0; a more accurate focal loss there
    # must not fail for the reference's imprecision.
    bce = oracles.binary_cross_entropy_with_logits(x, y, reduction="none")
    torch_bce = call_or_skip(binary_cross_entropy_with_logits, x_t, y_t, reduction="none")
    relative = tolerance(dtype, pointwise=True).rtol * (1.0 + np.abs(x))
    torch_bce = to_numpy(torch_bce)
    accurate = np.abs(torch_bce - bce) <= relative * bce
    tiny = torch.finfo(dtype).tiny
    normal = (bce >= tiny) & (torch_bce >= tiny) & accurate  # a normal number in the dtype
    expected = focal.alpha_factor(y, alpha) * focal.modulating_factor(x, y, gamma)
    assert_close(
        fl[normal] / bce[normal],
        expected[normal],
        dtype=dtype,
        scale=1.0 + gamma,
        pointwise=True,
        what="FL/BCE = α_t·(1 − p_t)^γ",
    )
    # Down-weighting: along a ladder of easier and easier positives the ratio never grows.
    ladder = rounded(np.linspace(0.0, 2.0 * unsaturated_bound(dtype), 9), dtype)
    ones = to_device(np.ones_like(ladder), device, dtype)
    fl_ladder = call_or_skip(
        sigmoid_focal_loss, to_device(ladder, device, dtype), ones, alpha=-1.0, gamma=gamma
    )
    bce_ladder = call_or_skip(
        binary_cross_entropy_with_logits, to_device(ladder, device, dtype), ones, reduction="none"
    )
    ratios = (fl_ladder / bce_ladder).detach().cpu().double().numpy()
    # Rounding apart (a few units in the last place: FL and BCE may come from different code,
    # as when the BCE is another library's), the ratio never grows.
    slack = tolerance(dtype, pointwise=True).rtol * np.abs(ratios[1:])
    check(np.all(np.diff(ratios) <= slack), "FL/BCE along p_t", ratios, "nonincreasing")


# --------------------------------------------------------------------------------------------
# FL-3

EXAMPLE_FL3 = {  # name: (p, y, published focal, published BCE); α = 0.75, γ = 2, mean
    "easy": ([0.9, 0.1], [1.0, 0.0], "0.0005", "0.1054"),
    "hard": ([0.5, 0.5], [1.0, 0.0], "0.0866", "0.6931"),
}
PROBABILITY_FOCAL = pytest.mark.parametrize(
    "probability_focal_loss", [probability_focal_loss], ids=["on-probabilities"]
)


@pytest.mark.claim("FL-3")
@PROBABILITY_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("example", list(EXAMPLE_FL3))
def test_fl3_published_example(
    device, dtype, example, probability_focal_loss, binary_cross_entropy
):
    """α = 0.75, γ = 2, mean: easy (p = [0.9, 0.1], y = [1, 0]) 0.0005 vs BCE 0.1054, hard
    (p = [0.5, 0.5]) 0.0866 vs BCE 0.6931; the focal value also against the oracle."""
    p, y, published_focal, published_bce = EXAMPLE_FL3[example]
    p_t, y_t = to_device(np.array(p), device, dtype), to_device(np.array(y), device, dtype)
    value = call_or_skip(probability_focal_loss, p_t, y_t, alpha=0.75, gamma=2.0)
    assert_matches_published(value, published_focal, what=f"{example} focal loss")
    assert_matches_published(
        call_or_skip(binary_cross_entropy, p_t, y_t), published_bce, what=f"{example} BCE"
    )
    expected = focal.probability_focal_loss(rounded(np.array(p), dtype), np.array(y), 0.75, 2.0)
    scale = 3.0 * loss_scale("mean", 2, 0.75 * np.array(y) + 0.25 * (1 - np.array(y)))
    assert_close(value, expected, dtype=dtype, terms=2, scale=scale, what=f"{example} focal loss")


@pytest.mark.claim("FL-3")
@PROBABILITY_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl3_probability_focal_loss_matches_definition(
    device, dtype, reduction, probability_focal_loss, data
):
    """The focal loss on probabilities, values and gradients, α ∈ [0, 1], γ ∈ {0} ∪ [1, 5],
    for p·(1 − p) ≥ 1e-12 (where BCELoss's backward is not capped, see BCE-7)."""
    alpha = draw_alpha(data, dtype, UNIT_ALPHAS)
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    n = data.draw(st.integers(0, 8), label="n")
    p = rounded(data.draw(vs.probabilities((n,), dtype, margin=2e-12), label="p"), dtype)
    y = data.draw(vs.binary_targets((n,)), label="y")
    g = rounded(data.draw(vs.cotangents((n,) if reduction == "none" else ()), label="g"), dtype)
    expected = focal.probability_focal_loss(p, y, alpha, gamma, reduction)
    expected_grad = focal.probability_focal_loss_vjp(p, y, g, alpha, gamma, reduction)
    inputs = [to_device(p, device, dtype), to_device(y, device, dtype)]
    # The log-domain condition: 1 + the largest −log of p or 1 − p (both ≥ 2e-12 here).
    condition = 1.0 + float(np.max(-np.log(np.minimum(p, 1 - p)), initial=0.0))
    weight = alpha * y + (1 - alpha) * (1 - y)
    # The gradient's terms are up to (1 + γ)·α_f·|g|/(p(1 − p)) in size.
    sizes = expand_cotangent(g, (n,), reduction) * weight * (1 + gamma) / (p * (1 - p))
    assert_value_and_gradient(
        probability_focal_loss,
        inputs,
        expected,
        expected_grad,
        cotangent=g,
        dtype=dtype,
        value_tolerance={
            "terms": max(n, 1),
            "condition": condition,
            "scale": floored((1 + gamma) * loss_scale(reduction, n, weight), dtype),
            "pointwise": True,
        },
        grad_tolerance={
            "terms": max(n, 1),
            "condition": condition,
            "scale": floored(float(np.max(np.abs(sizes), initial=0.0)), dtype),
            "pointwise": True,
        },
        what="probability focal loss",
        alpha=alpha,
        gamma=gamma,
        reduction=reduction,
    )


# --------------------------------------------------------------------------------------------
# FL-4

EXAMPLE_FL4 = ([[0.03, 32.1, 0.0006]], [[0.0, 1.0, 0.0]], 0.25, 2.0, "0.0890")


@pytest.mark.claim("FL-4")
@SIGMOID_FOCAL
@WRAPPED_FOCAL
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl4_wrapped_bce_focal_equals_sigmoid_focal_loss(
    device, dtype, reduction, sigmoid_focal_loss, wrapped_focal_loss, data
):
    """FocalLoss(BCEWithLogitsLoss(reduction=r), γ, α) = sigmoid_focal_loss(α, γ, r), values
    and gradients, both against the oracle, for α ∈ [0, 1] (the wrapper has no α < 0 switch),
    γ ∈ {0} ∪ [1, 5], hard and soft targets."""
    alpha = draw_alpha(data, dtype, UNIT_ALPHAS)
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    soft = data.draw(st.booleans(), label="soft targets")
    x, y, g = data.draw(binary_cases(dtype, reduction, soft=soft), label="case")
    sides = {
        "FocalLoss(BCEWithLogitsLoss)": wrapped_focal_loss,
        "sigmoid_focal_loss": sigmoid_focal_loss,
    }
    for name, fn in sides.items():
        check_binary_focal(
            fn,
            x,
            y,
            g,
            device,
            dtype,
            alpha=alpha,
            gamma=gamma,
            reduction=reduction,
            what=name,
        )


@pytest.mark.claim("FL-4")
@SIGMOID_FOCAL
@WRAPPED_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_fl4_published_example(device, dtype, sigmoid_focal_loss, wrapped_focal_loss):
    """logits [[0.03, 32.1, 0.0006]], targets [[0, 1, 0]], α = 0.25, γ = 2, mean = 0.0890."""
    logits, target, alpha, gamma, published = EXAMPLE_FL4
    x, y = to_device(np.array(logits), device, dtype), to_device(np.array(target), device, dtype)
    for name, fn in {
        "FocalLoss(BCEWithLogitsLoss)": wrapped_focal_loss,
        "sigmoid_focal_loss": sigmoid_focal_loss,
    }.items():
        value = call_or_skip(fn, x, y, alpha=alpha, gamma=gamma, reduction="mean")
        assert_matches_published(value, published, what=name)


# --------------------------------------------------------------------------------------------
# FL-5

LOGSIGMOID_FOCAL = pytest.mark.parametrize(
    "logsigmoid_focal_loss", [logsigmoid_focal_loss], ids=["logsigmoid"]
)


@pytest.mark.claim("FL-5")
@LOGSIGMOID_FOCAL
@SIGMOID_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl5_logsigmoid_form_equals_sigmoid_form_without_alpha(
    device, dtype, reduction, logsigmoid_focal_loss, sigmoid_focal_loss, data
):
    """The logsigmoid form equals sigmoid_focal_loss(α = −1), values and gradients, hard labels,
    γ ∈ {0} ∪ [1, 5]; not only for moderate x: torchvision's form takes its ce from
    BCEWithLogits and is as stable, so both hold over the whole logit range. (float16 and
    bfloat16: the next test, and FL-1, which draws α = −1.)"""
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    x, y, g = data.draw(binary_cases(dtype, reduction), label="case")
    check_binary_focal(
        logsigmoid_focal_loss,
        x,
        y,
        g,
        device,
        dtype,
        alpha=-1.0,
        gamma=gamma,
        reduction=reduction,
        what="logsigmoid focal loss",
        takes_alpha=False,
    )
    check_binary_focal(
        sigmoid_focal_loss,
        x,
        y,
        g,
        device,
        dtype,
        alpha=-1.0,
        gamma=gamma,
        reduction=reduction,
        what="sigmoid_focal_loss(α = −1)",
    )


def mp_focal(x: float, y: float, gamma: float) -> float:
    """−(1 − p_t)^γ·log p_t in mpmath (50 digits), with p_t = σ(±x) formed exactly."""
    with mp.workdps(50):
        z = mp.mpf(x) if y == 1 else -mp.mpf(x)  # p_t = σ(z)
        return float(-((1 / (1 + mp.exp(z))) ** gamma) * -mp.log1p(mp.exp(-z)))


@pytest.mark.claim("FL-5")
@LOGSIGMOID_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32, torch.float16, torch.bfloat16)
def test_fl5_logsigmoid_form_is_finite_and_accurate_for_large_logits(
    device, dtype, logsigmoid_focal_loss
):
    """At |x| = 20, 100 and ``logit_bound`` (1e4, or 200 in 16-bit), both labels, γ = 2: the
    logsigmoid form is finite and matches the oracle, which matches mpmath."""
    bound = vs.logit_bound(dtype)
    magnitudes = np.array([20.0, 100.0, bound])
    x = rounded(np.concatenate([magnitudes, -magnitudes, magnitudes, -magnitudes]), dtype)
    y = np.repeat([1.0, 1.0, 0.0, 0.0], magnitudes.size)
    expected = focal.sigmoid_focal_loss(x, y, -1.0, 2.0, "none")
    reference = np.array([mp_focal(a, b, 2.0) for a, b in zip(x, y, strict=True)])
    assert_close(expected, reference, dtype=torch.float64, what="oracle against mpmath")
    check_binary_focal(
        logsigmoid_focal_loss,
        x,
        y,
        np.ones_like(x),
        device,
        dtype,
        alpha=-1.0,
        gamma=2.0,
        reduction="none",
        what="logsigmoid focal loss at large |x|",
        takes_alpha=False,
    )


@pytest.mark.claim("FL-5")
@pytest.mark.dtypes(torch.float32)
def test_fl5_log_of_sigmoid_form_is_not_finite_for_large_logits(device, dtype):
    """The literal log(sigmoid(x)) form breaks where the logsigmoid form does not: at x = 20,
    y = 1 (an easy positive) σ(x) rounds to 1 and (1 − y)·log(1 − σ) = 0·(−inf) = NaN; at
    x = −100, y = 1 σ underflows and log σ = −inf. The float32 boundaries are noted."""
    x = np.array([20.0, -100.0])
    y = np.array([1.0, 1.0])
    x_t, y_t = to_device(x, device, dtype), to_device(y, device, dtype)
    naive = call_or_skip(log_of_sigmoid_focal_loss, x_t, y_t, gamma=2.0, reduction="none")
    stable = call_or_skip(logsigmoid_focal_loss, x_t, y_t, gamma=2.0, reduction="none")
    check(
        torch.isnan(naive[0]) and torch.isinf(naive[1]), "log-of-sigmoid form", naive, "[nan, inf]"
    )
    assert_close(
        stable,
        focal.sigmoid_focal_loss(x, y, -1.0, 2.0, "none"),
        dtype=dtype,
        condition=softplus_condition(x),
        scale=focal_scale(y, -1.0, 2.0, "none"),
        pointwise=True,
        what="logsigmoid form at the same inputs",
    )

    def breaks(label):
        def predicate(v):
            t = to_device(np.atleast_1d(v), device, dtype)
            label_t = torch.full_like(t, label)
            out = log_of_sigmoid_focal_loss(t, label_t, gamma=2.0, reduction="none")
            return not bool(torch.isfinite(out).all())

        return predicate

    positive = first_true(breaks(1.0), 0.0, 100.0, dtype)
    negative = -first_true(lambda v: breaks(0.0)(-v), 0.0, 200.0, dtype)
    recording.note(
        f"boundary: log(sigmoid) focal form is NaN in float32 for y = 1 from x = {positive:.6g} "
        f"(σ rounds to 1) and for y = 0 from x = {negative:.6g} (σ underflows to 0); the "
        f"logsigmoid form stays finite and accurate"
    )


# --------------------------------------------------------------------------------------------
# FL-6


def softmax_focal_case(data, dtype, reduction, **overrides):
    """Classification cases; in float16 without class weights, whose product with γ·|log p|
    overflows float16 in the backward pass (``test_fl6_float16_backward_overflows``)."""
    options = {"max_n": 5, "max_c": 5, "max_kdims": 1, "reduction": reduction}
    options["weights"] = dtype != torch.float16
    return data.draw(vs.classification_cases(dtype, **{**options, **overrides}), label="case")


def as_alpha(params):
    """The cases' ``weight`` (the oracle's name) as the contract's ``alpha``."""
    return {("alpha" if k == "weight" else k): v for k, v in params.items()}


def check_softmax_focal(fn, case, device, dtype, gamma, what):
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    params = {"gamma": gamma, **as_alpha(params_to_device(case.params, device, dtype))}
    scores, ref = rounded(case.scores, dtype), params_rounded(case.params, dtype)
    g = rounded(case.cotangent, dtype)
    scale = (1 + gamma) * loss_scale(ref["reduction"], case.target.size, ref.get("weight"))
    expected = Expected(
        focal.softmax_focal_loss(scores, case.target, gamma, **ref),
        focal.softmax_focal_loss_vjp(scores, case.target, g, gamma, **ref),
        floored(scale, dtype),
        floored(
            focal.softmax_focal_loss_gradient_bound(scores, case.target, g, gamma, **ref), dtype
        ),
    )
    tolerance = logsumexp_tolerance(scores)
    return assert_matches_oracle(
        fn, [x, y], expected, cotangent=g, dtype=dtype, tolerance=tolerance, what=what, **params
    )


@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl6_softmax_focal_loss_matches_definition(
    device, dtype, reduction, softmax_focal_loss, data
):
    """NLL((1 − softmax)^γ·log_softmax) = mean(−α_y(1 − p_t)^γ log p_t), values and gradients,
    γ ∈ {0} ∪ [1, 5], per-class α (NLL's weight: 'mean' divides by Σ α_y of the kept
    targets), ignore_index (all positions ignored included), (N, C) and (N, C, d)."""
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    case = softmax_focal_case(data, dtype, reduction)
    check_softmax_focal(softmax_focal_loss, case, device, dtype, gamma, "softmax focal loss")


@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_fl6_gamma_zero_is_cross_entropy(
    device, dtype, reduction, softmax_focal_loss, cross_entropy, data
):
    """With γ = 0 the softmax focal loss is CrossEntropyLoss (same weight, ignore_index,
    reduction): values and gradients of both against the cross-entropy oracle."""
    case = softmax_focal_case(data, dtype, reduction)
    scores, ref = rounded(case.scores, dtype), params_rounded(case.params, dtype)
    focal_zero = focal.softmax_focal_loss(scores, case.target, 0.0, **ref)
    assert_close(
        focal_zero,
        oracles.cross_entropy(scores, case.target, **ref),
        dtype=torch.float64,
        terms=max(scores.size, 1),
        condition=logsumexp_condition(scores),
        scale=loss_scale(ref["reduction"], case.target.size, ref.get("weight")),
        what="oracle identity focal(γ = 0) = CE",
    )
    check_softmax_focal(softmax_focal_loss, case, device, dtype, 0.0, "softmax focal loss (γ = 0)")

    def ce_ignoring_gamma(x, y, gamma, alpha=None, **params):
        return cross_entropy(x, y, weight=alpha, **params)

    check_softmax_focal(ce_ignoring_gamma, case, device, dtype, 0.0, "CrossEntropyLoss")


@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL_FORMS
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_fl6_ignored_positions_contribute_nothing(device, dtype, softmax_focal_loss, data):
    """Positions whose target is ignore_index get zero gradient, and changing their scores
    changes neither the 'mean' value (numerator or denominator) nor the other gradients."""
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    case = data.draw(
        vs.classification_cases(
            dtype, min_n=1, max_n=5, max_c=5, max_kdims=0, ignore_index=False, reduction="mean"
        ),
        label="case",
    )
    ignore_index = data.draw(vs.ignore_indices(case.scores.shape[1]), label="ignore_index")
    target = case.target.copy()
    target[0] = ignore_index
    params = {k: v for k, v in case.params.items() if k != "ignore_index"}
    params["ignore_index"] = ignore_index
    device_params = as_alpha(params_to_device(params, device, dtype))
    y = to_device(target, device)
    ignored = target == ignore_index
    shifted = case.scores.copy()
    shifted[ignored] = np.flip(shifted[ignored], axis=1) + 3.0
    results = [
        value_and_grad(
            softmax_focal_loss,
            [to_device(s, device, dtype), y],
            cotangent=1.0,
            gamma=gamma,
            **device_params,
        )
        for s in (case.scores, shifted)
    ]
    (value, grad), (value_shifted, grad_shifted) = results
    scores = rounded(case.scores, dtype)
    expected = focal.softmax_focal_loss(scores, target, gamma, **params_rounded(params, dtype))
    common = {
        "dtype": dtype,
        "terms": max(scores.size, 1),
        "condition": logsumexp_condition(np.concatenate([scores, rounded(shifted, dtype)])),
        "scale": (1 + gamma) * loss_scale("mean", target.size, params.get("weight")),
        "pointwise": True,
    }
    assert_close(value, expected, **common, what="value")
    assert_close(value_shifted, expected, **common, what="value with ignored scores changed")
    ignored_grads = (grad[ignored], grad_shifted[ignored])
    check(not any(np.any(g) for g in ignored_grads), "ignored gradient", ignored_grads, 0.0)
    assert_close(grad_shifted, grad, **common, what="gradient with ignored scores changed")


@pytest.mark.implementation_detail(
    "the float16 overflow is a property of the NLL form's backward, not of the contract"
)
@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL
@pytest.mark.dtypes(torch.float16)
def test_fl6_float16_backward_overflows(device, dtype, softmax_focal_loss):
    """In float16 the NLL form's backward passes γ·(1 − p)^(γ−1)·log p·α_y·g through the
    modulating factor; once that exceeds 65504 it overflows, and where p underflowed to 0
    (log p = −100: scores [100, 0], target 1, α = [1, 100], γ = 4, g = 2: 4·100·100·2 = 8e4)
    inf·0 makes the gradient NaN, though the true gradient (≈ [200, −200]) fits float16."""
    scores, target, weight = np.array([[100.0, 0.0]]), np.array([1]), np.array([1.0, 100.0])
    _, grad = value_and_grad(
        softmax_focal_loss,
        [to_device(scores, device, dtype), to_device(target, device)],
        cotangent=2.0,
        gamma=4.0,
        alpha=to_device(weight, device, dtype),
        reduction="sum",
    )
    expected = focal.softmax_focal_loss_vjp(scores, target, 2.0, 4.0, weight, reduction="sum")
    check(
        np.all(np.isfinite(expected)) and np.max(np.abs(expected)) < 65504,
        "oracle gradient",
        expected,
        "finite and below float16's largest 65504",
    )
    check(np.isnan(grad).any(), "float16 backward", grad, "NaN from an overflow")
    recording.note(
        "boundary: float16 NLL-form gradient is NaN once γ·|log p_y|·α_y·|g| > 65504 "
        "(scores [100, 0], target 1, α = [1, 100], γ = 4, g = 2); hypothesis runs float16 "
        "without class weights"
    )


@pytest.mark.implementation_detail(
    "the NaN gradient at saturation is a defect of the common forms; the contract's "
    "gradient is finite"
)
@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL_FORMS
@pytest.mark.dtypes(torch.float64)
def test_fl6_fractional_gamma_gradient_is_nan_at_saturated_softmax(
    device, dtype, softmax_focal_loss
):
    """For 0 < γ < 1 (here 0.5) a class with p = 1 to working precision makes (1 − p)^γ's
    derivative infinite: both forms return NaN gradients for a confident correct prediction
    (scores [0, 50], target 1), and the NLL form, which modulates every class, even for a
    confident wrong one ([50, 0], target 1, through the non-target class). The oracle's
    gradients are finite, and so are the implementations' for γ = 0 and γ ≥ 1."""
    scores = np.array([[0.0, 50.0], [50.0, 0.0]])
    target = np.array([1, 1])
    _, grad = value_and_grad(
        softmax_focal_loss,
        [to_device(scores, device, dtype), to_device(target, device)],
        cotangent=1.0,
        gamma=0.5,
        reduction="none",
    )
    expected = focal.softmax_focal_loss_vjp(scores, target, 1.0, 0.5, reduction="none")
    check(np.all(np.isfinite(expected)), "oracle gradient", expected, "finite")
    nan_rows = [i for i in range(2) if np.isnan(grad[i]).any()]
    check(bool(nan_rows), "gradient for γ = 0.5 at saturation", grad, "NaN rows")
    for gamma in (0.0, 1.0, 2.0):
        _, grad = value_and_grad(
            softmax_focal_loss,
            [to_device(scores, device, dtype), to_device(target, device)],
            cotangent=1.0,
            gamma=gamma,
            reduction="none",
        )
        check(np.all(np.isfinite(grad)), f"gradient at γ = {gamma}", grad, "finite")
    recording.note(
        f"counterexample: γ = 0.5, scores [0, 50] / [50, 0], target 1: gradient NaN in rows "
        f"{nan_rows} ({softmax_focal_loss.__name__}); γ = 0 and γ ≥ 1 are finite"
    )


@pytest.mark.claim("FL-6")
@SOFTMAX_FOCAL
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_fl6_gradcheck(device, dtype, softmax_focal_loss, data):
    """The softmax focal loss passes ``torch.autograd.gradcheck`` (float64)."""
    gamma = data.draw(SMOOTH_GAMMAS, label="gamma")
    case = data.draw(
        vs.classification_cases(dtype, min_n=1, max_n=3, max_c=4, max_kdims=1), label="case"
    )
    expected = focal.softmax_focal_loss(case.scores, case.target, gamma, **case.params)
    if not np.all(np.isfinite(expected)):  # an all-ignored 'mean' is NaN: nothing to check
        return
    x = to_device(case.scores, device, dtype, requires_grad=True)
    y = to_device(case.target, device)
    params = as_alpha(params_to_device(case.params, device, dtype))
    check_gradients(
        lambda s: softmax_focal_loss(s, y, gamma, **params), [x], what="softmax focal loss"
    )


# --------------------------------------------------------------------------------------------
# FL-7

PT_SHORTCUT = pytest.mark.parametrize("pt_shortcut", [bce_shortcut_pt], ids=["exp(-bce)"])


@pytest.mark.claim("FL-7")
@PT_SHORTCUT
@given(data=st.data())
def test_fl7_shortcut_equals_explicit_pt_for_hard_labels(device, dtype, pt_shortcut, data):
    """Inside the domain (y ∈ {0, 1}, no pos_weight or pos_weight = 1): exp(−BCEWithLogits)
    = y·σ(x) + (1 − y)·(1 − σ(x)) = p_t, values and gradients, both forms against the oracle.

    Both are probabilities formed from terms of size 1 (1 − σ(x) by cancellation), so they are
    compared at scale 1; the shortcut carries the log-domain condition of its BCE.
    """
    x, y, g = data.draw(binary_cases(dtype, "none"), label="case")
    unit_weight = data.draw(st.booleans(), label="pos_weight = 1")
    grad_scale = float(np.max(np.abs(g), initial=0.0))
    expected = Expected(
        focal.target_probability(x, y), focal.target_probability_vjp(x, y, g), 1.0, grad_scale
    )
    inputs = [to_device(x, device, dtype), to_device(y, device, dtype)]
    params = {"pos_weight": to_device(np.ones(x.shape[-1]), device, dtype)} if unit_weight else {}
    sides = {"exp(−BCEWithLogits)": (pt_shortcut, params), "explicit p_t": (explicit_pt, {})}
    tolerance = {"condition": softplus_condition(x), "pointwise": True}
    for name, (fn, extra) in sides.items():
        assert_matches_oracle(
            fn, inputs, expected, cotangent=g, dtype=dtype, tolerance=tolerance, what=name, **extra
        )


@pytest.mark.claim("FL-7")
@PT_SHORTCUT
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_fl7_shortcut_is_a_geometric_mean_outside_hard_labels(device, dtype, pt_shortcut, data):
    """Outside the domain the shortcut is σ(x)^(pw·y)·σ(−x)^(1−y), a weighted geometric mean,
    not p_t: with soft labels (pw = 1) it lies below p_t (AM–GM, equal only at x = 0), with
    pos_weight ≠ 1 the positive term is raised to pw. Fixed counterexamples: x = 2, y = 0.5
    (geometric 0.324 vs p_t 0.5) and x = 0, y = 1, pos_weight = 2 (0.25 vs 0.5)."""
    x, y, _ = data.draw(binary_cases(dtype, "none", soft=True, bound=30.0), label="case")
    pw = data.draw(st.sampled_from([1.0, 0.5, 2.0, 10.0]), label="pos_weight")
    pos_weight = np.full(x.shape[-1], pw)
    x_t, y_t = to_device(x, device, dtype), to_device(y, device, dtype)
    value = call_or_skip(pt_shortcut, x_t, y_t, pos_weight=to_device(pos_weight, device, dtype))
    geometric = focal.bce_shortcut_probability(x, y, pos_weight)
    # The BCE's positive term is scaled by pw: its log-domain condition grows by that factor.
    condition = softplus_condition(x) * max(1.0, pw)
    assert_close(
        value,
        geometric,
        dtype=dtype,
        condition=condition,
        scale=1.0,
        pointwise=True,
        what="exp(−BCE) = σ^(pw·y)·σ(−x)^(1−y)",
    )
    if np.all(pos_weight == 1):
        bound = focal.target_probability(x, y) * (1 + 1e-12)
        check(
            np.all(geometric <= bound), "weighted geometric mean (AM–GM)", geometric, f"≤ {bound}"
        )

    cases = {
        "soft label x = 2, y = 0.5": (np.array([2.0]), np.array([0.5]), None),
        "pos_weight x = 0, y = 1, pw = 2": (np.array([0.0]), np.array([1.0]), np.array([2.0])),
    }
    found = []
    for name, (cx, cy, cpw) in cases.items():
        params = {} if cpw is None else {"pos_weight": to_device(cpw, device, dtype)}
        shortcut = call_or_skip(
            pt_shortcut, to_device(cx, device, dtype), to_device(cy, device, dtype), **params
        )
        explicit = focal.target_probability(cx, cy)
        check_differs(
            shortcut, explicit, f"shortcut p_t against y·σ(x) + …, {name}", dtype=dtype, scale=1.0
        )
        assert_close(
            shortcut,
            focal.bce_shortcut_probability(cx, cy, cpw),
            dtype=dtype,
            what=f"{name}: exp(−BCE)",
        )
        found.append(f"{name}: exp(−BCE) = {float(shortcut[0]):.4g}, p_t = {explicit[0]:.4g}")
    recording.note("boundary: exp(−BCE) = p_t only for y ∈ {0, 1} and pos_weight = 1")
    recording.note("counterexample: " + "; ".join(found))
