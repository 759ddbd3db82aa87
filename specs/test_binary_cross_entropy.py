"""Binary cross-entropy family: BCE-7 (headline), BCE equals CE for two classes; BCE-1 to BCE-9.

For two classes, softmax([z0, z1])_1 = σ(z1 − z0), so

- on logits:  CE(z, y) = BCEWithLogits(z1 − z0, y), and dCE/dz1 = −dCE/dz0 = dBCE/dx, also
  with soft targets CE(z, [1 − t, t]) = BCEWithLogits(z1 − z0, t);
- on probabilities:  BCE(p, y) = NLL(log[1 − p, p], y).

Each side is held to the float64 oracle of its own definition on exactly the inputs it
receives (the logit difference is formed in float64 and rounded once to the dtype under
test), and the identity between the two oracles is asserted as well.

Measured: ``BCELoss``'s backward divides by max(p·(1 − p), 1e-12), so within 1e-12 of 0 or 1
its gradient is capped near ∓1e12 where the NLL form's −1/p is not. The gradient identity on
probabilities therefore holds for p·(1 − p) ≥ 1e-12 (BCE_GRADIENT_MARGIN), and
``test_bce7_bce_gradient_is_capped_near_zero`` pins the capped side; values agree down to
the −100 log clamp.

The rest of the family, each against the float64 oracles of ``verify.oracles.binary`` (and
``verify.oracles.epsilon_bce`` for the tutorial's ε-BCE):

- BCE-1: BCELoss's definition, per-element broadcast ``weight`` ('mean' divides by the number
  of elements), and the −100 clamp of each log (exactly 100 at p = 1 − y).
- BCE-2 (within a domain): BCELoss(sigmoid(x)) = BCEWithLogitsLoss(x) for |x| ≤ 4; the
  composite leaves the derived bound from x ≈ 5.5 (the rounding of σ(x) next to 1, amplified
  by 1 + e^x), and once σ(x) rounds to 1 (float32: x ≥ 16.64 = ln(2/eps)) it is the clamp
  100·(1 − y) with no gradient, where BCEWithLogitsLoss gives x (x = 40: 100 against 40).
- BCE-3: pos_weight scales the positive term only, per class along the trailing axis.
- BCE-4 (within a domain): the tutorial's ε = 1e-9 BCE is within ε·(1 + e^|x|) of
  BCEWithLogitsLoss for |x| ≤ 4, and is capped at −log ε = 20.72 (float32: pinned there from
  x = 16.64, where σ(x) rounds to 1; inf in float16, where ε rounds to 0).
- BCE-5: the published example, 0.0184.
- BCE-6: every loss's nn.Module form equals its functional form, bitwise on the CPU.
- BCE-8 (refuted): the loss tends to 0 only as p → y; at p = 1 − y it is the clamp, 100.
- BCE-9 (refuted): BCEWithLogitsLoss(σ(x)) = BCE(σ(σ(x))), never below 0.3133.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

from specs.classification_draws import unweighted_rows
from specs.oracle_checks import Expected, assert_matches_oracle
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import assert_value_and_gradient, call_or_skip, value_and_grad
from verify.checks import check, check_gradients, check_pairs
from verify.contracts import as_implementation, class_forms
from verify.contracts.families.binary import BCE_GRADIENT_MARGIN, binary_shapes, element_weights
from verify.devices import (
    dtype_name,
    params_rounded,
    params_to_device,
    rounded,
    to_device,
    to_numpy,
)
from verify.oracles import epsilon_bce
from verify.oracles.reduction import REDUCTIONS, expand_cotangent
from verify.tolerances import (
    assert_close,
    assert_matches_published,
    compare,
    logsumexp_condition,
    loss_scale,
    softplus_condition,
    tolerance,
)

# ---------------------------------------------------------------------------------------------
# Shared strategies for the binary specs


@st.composite
def binary_cases(
    draw,
    dtype,
    reduction: str,
    *,
    logits: bool,
    bound: float | None = None,
    margin: float = 0.0,
    soft: bool | None = None,
    weights: bool = True,
    min_n: int = 0,
    max_n: int = 5,
) -> vs.LossCase:
    """Scores (logits up to ``bound``, or probabilities at least ``margin`` inside (0, 1)),
    binary targets (hard or soft), an optional broadcastable ``weight``, and a cotangent."""
    shape = draw(binary_shapes(min_n=min_n, max_n=max_n))
    if logits and bound is None:
        scores = draw(vs.logits(shape, vs.logit_bound(dtype)))
    elif logits:
        unit = st.floats(-1.0, 1.0, allow_subnormal=False) | st.sampled_from([-1.0, 1.0])
        scores = bound * draw(hnp.arrays(np.float64, shape, elements=unit))
    else:
        scores = draw(vs.probabilities(shape, dtype, margin=margin))
    soft = draw(st.booleans()) if soft is None else soft
    params: dict = {"reduction": reduction}
    if weights and draw(st.booleans()):
        params["weight"] = draw(element_weights(shape))
    return vs.LossCase(
        scores=scores,
        target=draw(vs.binary_targets(shape, soft=soft)),
        params=params,
        cotangent=draw(vs.cotangents(shape if reduction == "none" else ())),
    )


def bce_of_sigmoid(binary_cross_entropy):
    """x ↦ BCELoss(sigmoid(x), y): the composite BCE-2 compares with BCEWithLogitsLoss."""

    def fn(logits, target, **params):
        return binary_cross_entropy(torch.sigmoid(logits), target, **params)

    return fn


def weight_scale(params: dict) -> np.ndarray | None:
    """The per-element scale of a binary loss: weight × max(pos_weight, 1) (None when neither).

    pos_weight multiplies only the positive term; the negative term (1 − y)·softplus(x) keeps
    weight 1, so a pos_weight below 1 does not shrink the scale of the error. (Measured: x = −10,
    y = 0, pos_weight = 0.01 in float64 gives an error of 8.7e-16 from x + softplus(−x) = 4.5e-5,
    the cancellation of a term of size 10, which a 0.01 scale would call 3.8× too large.)
    """
    scale = params.get("weight")
    if params.get("pos_weight") is not None:
        positive = np.maximum(params["pos_weight"], 1.0)
        scale = positive if scale is None else scale * positive
    return scale


def assert_logit_sides(
    sides, x, y, cotangent, device, dtype: torch.dtype, *, grad_condition: bool = True, **params
) -> None:
    """Each ``name: (fn, expected, expected_grad)`` of ``sides``, run as ``fn(x, y, **params)``
    on the rounded logits ``x`` and targets ``y``, against its references, values and gradients.

    The tolerance is BCEWithLogitsLoss's: the log-domain ``softplus_condition`` on the value
    (and on the gradient unless ``grad_condition`` is False); the value evaluated pointwise
    (see BCE-7) at the scale of the reduced weight × pos_weight, the gradient at the oracle's
    bound.
    """
    terms, condition = max(x.size, 1), softplus_condition(x)
    grad_tolerance = (
        {"terms": terms, "condition": condition} if grad_condition else {"terms": terms}
    )
    scale = loss_scale(params["reduction"], x.size, weight_scale(params))
    grad_scale = oracles.binary_cross_entropy_with_logits_gradient_bound(x, y, cotangent, **params)
    for name, (fn, expected, expected_grad) in sides.items():
        assert_value_and_gradient(
            fn,
            [to_device(x, device, dtype), to_device(y, device, dtype)],
            expected,
            expected_grad,
            cotangent=cotangent,
            dtype=dtype,
            value_tolerance={
                "terms": terms,
                "condition": condition,
                "scale": scale,
                "pointwise": True,
            },
            grad_tolerance={**grad_tolerance, "scale": grad_scale},
            what=name,
            **params_to_device(params, device, dtype),
        )


def assert_logit_forms_match_oracle(forms, case: vs.LossCase, device, dtype: torch.dtype) -> None:
    """Each ``name: fn`` of ``forms`` on the rounded ``case`` against the BCEWithLogitsLoss
    oracle, values and gradients, within ``assert_logit_sides``'s tolerance."""
    x, y = rounded(case.scores, dtype), rounded(case.target, dtype)
    params = params_rounded(case.params, dtype)
    cotangent = rounded(case.cotangent, dtype)
    expected = oracles.binary_cross_entropy_with_logits(x, y, **params)
    expected_grad = oracles.binary_cross_entropy_with_logits_vjp(x, y, cotangent, **params)
    sides = {name: (fn, expected, expected_grad) for name, fn in forms.items()}
    assert_logit_sides(sides, x, y, cotangent, device, dtype, **params)


def assert_saturated_bce_with_logits(fn, logits, target, x, y, cotangent, dtype) -> None:
    """BCEWithLogitsLoss per element (reduction 'none') on the device tensors ``logits`` and
    ``target`` (the rounded ``x`` and ``y``) against its oracle, values and gradients: the true
    loss and σ(x) − y where a σ(x)-based form has saturated."""
    condition = softplus_condition(x)
    assert_value_and_gradient(
        fn,
        [logits, target],
        oracles.binary_cross_entropy_with_logits(x, y, reduction="none"),
        oracles.binary_cross_entropy_with_logits_vjp(x, y, cotangent, reduction="none"),
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"condition": condition, "scale": 1.0, "pointwise": True},
        grad_tolerance={
            "condition": condition,
            "scale": oracles.binary_cross_entropy_with_logits_gradient_bound(
                x, y, cotangent, reduction="none"
            ),
        },
        what="BCEWithLogitsLoss",
        reduction="none",
    )


def assert_per_element_bce(binary_cross_entropy, p, y, device, dtype):
    """BCELoss(p, y) per element (reduction 'none') against its oracle; returns both."""
    value = call_or_skip(
        binary_cross_entropy,
        to_device(p, device, dtype),
        to_device(y, device, dtype),
        reduction="none",
    )
    expected = oracles.binary_cross_entropy(p, y, reduction="none")
    assert_close(value, expected, dtype=dtype, scale=1.0, what="BCELoss value")
    return value, expected


def bitwise_equal(actual: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray) -> bool:
    """Same bits (NaN in the same places counts as equal); float64 upcasts are exact."""
    a = to_numpy(actual) if torch.is_tensor(actual) else np.asarray(actual)
    e = to_numpy(expected) if torch.is_tensor(expected) else np.asarray(expected)
    return a.shape == e.shape and bool(np.array_equal(a, e, equal_nan=True))


def gradient_margin(dtype: torch.dtype) -> float:
    """How far inside (0, 1) BCELoss's gradient is both uncapped and representable.

    p·(1 − p) ≥ 1e-12 (BCE_GRADIENT_MARGIN), and |g·w·(p − y)/(p(1 − p))| ≤ 2·100/p (the
    largest cotangent and weight drawn) with a factor 2 to spare below the dtype's largest
    finite value (this matters only in float16, whose largest is 65504).
    """
    return max(BCE_GRADIENT_MARGIN, 400.0 / torch.finfo(dtype).max)


# ---------------------------------------------------------------------------------------------
# BCE-1: BCELoss = −mean[y log p + (1 − y) log(1 − p)], per-element weight, logs clamped at −100


@pytest.mark.claim("BCE-1")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce1_bce_matches_its_definition(device, dtype, reduction, binary_cross_entropy, data):
    """BCELoss(p, y) = reduce(−w·(y·log p + (1 − y)·log(1 − p))), values and gradients.

    Hard and soft targets; ``weight`` of any shape that broadcasts to the input (full, a
    trailing suffix, singleton axes, a scalar) rescales each element, and 'mean' divides by
    the number of elements, not by the summed weight (unlike CrossEntropyLoss). The gradient
    is g·w·(p − y)/(p(1 − p)); BCELoss's backward caps the denominator at 1e-12 (see BCE-7),
    so p is drawn where p·(1 − p) ≥ 1e-12 and where the gradient is representable
    (``gradient_margin``: in float16, |g·w/p| ≤ 200/p must stay below 65504), as close to 0
    and 1 as that allows.
    """
    margin = gradient_margin(dtype)
    case = data.draw(binary_cases(dtype, reduction, logits=False, margin=margin), label="case")
    p, y = rounded(case.scores, dtype), rounded(case.target, dtype)
    params = params_rounded(case.params, dtype)
    cotangent = rounded(case.cotangent, dtype)
    expected = Expected(
        oracles.binary_cross_entropy(p, y, **params),
        oracles.binary_cross_entropy_vjp(p, y, cotangent, **params),
        loss_scale(reduction, p.size, params.get("weight")),
        None,
    )
    assert_matches_oracle(
        binary_cross_entropy,
        [to_device(p, device, dtype), to_device(y, device, dtype)],
        expected,
        cotangent=cotangent,
        dtype=dtype,
        tolerance={"terms": max(p.size, 1)},
        what="BCELoss",
        **params_to_device(params, device, dtype),
    )


@st.composite
def probabilities_with_edges(draw, shape, dtype):
    """Probabilities in the closed [0, 1]: exact 0 and 1, values below e^−100, anything."""
    edges = st.sampled_from([0.0, 1.0, 1e-300, 1e-50, 1e-40, 1.0 - 1e-12])
    values = draw(hnp.arrays(np.float64, shape, elements=st.one_of(edges, st.floats(0.0, 1.0))))
    return rounded(values, dtype)


@pytest.mark.claim("BCE-1")
@given(data=st.data())
def test_bce1_log_clamp_bounds_each_element_by_100(device, dtype, binary_cross_entropy, data):
    """Each log is clamped at −100, so one element never exceeds 100, and p = 0 with y = 1 (or
    p = 1 with y = 0) gives exactly 100 (not inf); p at the target gives exactly 0.

    Over the closed interval [0, 1] (exact 0 and 1, values below e^−100 that only the clamp
    keeps finite) and soft targets; values only: at p·(1 − p) < 1e-12 the gradient is capped
    (BCE-7).
    """
    n = data.draw(st.integers(1, 8), label="n")
    p = data.draw(probabilities_with_edges((n,), dtype), label="p")
    y = rounded(data.draw(vs.binary_targets((n,), soft=data.draw(st.booleans())), label="y"), dtype)
    p = np.concatenate([p, [0.0, 1.0, 0.0, 1.0]])
    y = np.concatenate([y, [1.0, 0.0, 0.0, 1.0]])
    value, _ = assert_per_element_bce(binary_cross_entropy, p, y, device, dtype)
    values = to_numpy(value)
    check(np.all(np.isfinite(values)), "BCELoss", values, "finite")
    check(values.max() <= 100.0, "largest BCELoss element", values.max(), "at most 100")
    check(
        values[-4:].tolist() == [100.0, 100.0, 0.0, 0.0],
        "BCELoss at (p, y) = (0, 1), (1, 0), (0, 0), (1, 1)",
        values[-4:].tolist(),
        [100.0, 100.0, 0.0, 0.0],
    )
    recording.note("p = 0, y = 1 and p = 1, y = 0 give exactly 100 (log clamped at −100)")


@pytest.mark.claim("BCE-1")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_bce1_gradcheck(device, dtype, binary_cross_entropy, data):
    """BCELoss with a broadcast ``weight`` passes ``torch.autograd.gradcheck`` in float64."""
    reduction = data.draw(vs.reductions(), label="reduction")
    case = data.draw(
        binary_cases(dtype, reduction, logits=False, margin=1e-3, min_n=1, max_n=3), label="case"
    )
    p = to_device(case.scores, device, dtype, requires_grad=True)
    y = to_device(case.target, device, dtype)
    params = params_to_device(case.params, device, dtype)
    check_gradients(lambda q: binary_cross_entropy(q, y, **params), [p], what="BCELoss")


# ---------------------------------------------------------------------------------------------
# BCE-2: BCEWithLogitsLoss(x, y) = BCELoss(sigmoid(x), y), within a domain

MODERATE_LOGIT = 4.0  # |x| ≤ 4: inside the domain of BCE-2 and BCE-4 in every dtype


def saturation_logit(dtype: torch.dtype) -> float:
    """ln(4/eps): past it 1 − σ(x) < eps/4, so σ(x) rounds to 1 in ``dtype``.

    PyTorch's sigmoid, 1/(1 + e^−x) in the dtype, reaches 1 earlier, from ln(2/eps), where
    1 + e^−x rounds to 1: float32 16.64 (ln(4/eps) = 17.33), float64 36.74 (37.43).
    """
    return math.log(4.0 / torch.finfo(dtype).eps)


def checked_tolerance_boundary(xs, actual, expected, dtype, x_one: float) -> float:
    """``first_beyond_tolerance``, checked to lie between the moderate logits and the logit
    ``x_one`` where σ(x) rounds to 1."""
    x_tol = first_beyond_tolerance(xs, actual, expected, dtype)
    check(
        x_tol is not None and MODERATE_LOGIT < x_tol < x_one,
        "first logit beyond the tolerance",
        x_tol,
        f"between {MODERATE_LOGIT} and the saturation logit {x_one}",
    )
    return x_tol


def first_beyond_tolerance(xs, actual, expected, dtype) -> float | None:
    """The first x (in the order given) whose value leaves the derived bound, or None.

    Each element is held to the bound it would get alone in the specs: the conditioning of
    log(1 + e^±x) at that x, a per-element scale of 1, pointwise arithmetic.
    """
    for x, a, e in zip(xs, actual, expected, strict=True):
        condition = softplus_condition(np.array([x]))
        if not compare(a, e, dtype=dtype, condition=condition, scale=1.0, pointwise=True).passed:
            return float(x)
    return None


@pytest.mark.claim("BCE-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce2_bce_of_sigmoid_equals_bce_with_logits_for_moderate_logits(
    device, dtype, reduction, binary_cross_entropy, binary_cross_entropy_with_logits, data
):
    """For |x| ≤ 4: BCELoss(sigmoid(x), y) = BCEWithLogitsLoss(x, y), values and gradients.

    Both sides are held to the float64 oracle −w·(y·log σ(x) + (1 − y)·log σ(−x)), with hard
    and soft targets, a broadcast ``weight`` and every reduction. The domain: the composite
    rounds σ(x) to the dtype before taking log(1 − σ(x)), so the rounding next to 1 (about
    eps/2) is amplified by 1/(1 − σ(x)) = 1 + e^x; the composite leaves the derived bound
    from x ≈ 5.5 to 6.7 in every dtype (the boundary spec measures it), long before σ(x)
    rounds to 1. Its gradient, (p − y)/(p(1 − p)) · p(1 − p) on the same rounded p, stays
    accurate in this range.
    """
    case = data.draw(
        binary_cases(dtype, reduction, logits=True, bound=MODERATE_LOGIT), label="case"
    )
    forms = {
        "BCELoss(sigmoid(x))": bce_of_sigmoid(binary_cross_entropy),
        "BCEWithLogitsLoss": binary_cross_entropy_with_logits,
    }
    assert_logit_forms_match_oracle(forms, case, device, dtype)


@pytest.mark.claim("BCE-2")
@given(data=st.data())
def test_bce2_bce_of_sigmoid_is_the_clamp_once_sigmoid_rounds_to_one(
    device, dtype, binary_cross_entropy, binary_cross_entropy_with_logits, data
):
    """Past x = ln(4/eps) (float32: 17.33), σ(x) is 1 in the dtype and BCELoss(σ(x), y) is
    the clamp 100·(1 − y) whatever x, with no usable gradient (0; NaN in float16, where the
    backward's 1e-12 floor on p(1 − p) itself rounds to 0), while BCEWithLogitsLoss keeps the
    true loss (1 − y)·x + log(1 + e^−x) and its gradient σ(x) − y."""
    n = data.draw(st.integers(1, 6), label="n")
    low = saturation_logit(dtype) * (1.0 + torch.finfo(dtype).eps)  # past it after rounding
    magnitudes = st.floats(low, vs.logit_bound(dtype)) | st.sampled_from([low, 40.0])
    x = rounded(data.draw(hnp.arrays(np.float64, (n,), elements=magnitudes), label="x"), dtype)
    soft = data.draw(st.booleans(), label="soft")
    y = rounded(data.draw(vs.binary_targets((n,), soft=soft), label="y"), dtype)
    cotangent = rounded(data.draw(vs.cotangents((n,)), label="g"), dtype)
    logits, target = to_device(x, device, dtype), to_device(y, device, dtype)
    check(bool(torch.all(torch.sigmoid(logits) == 1)), "σ(x)", torch.sigmoid(logits), 1.0)

    value, grad = value_and_grad(
        bce_of_sigmoid(binary_cross_entropy),
        [logits, target],
        cotangent=cotangent,
        reduction="none",
    )
    clamp = oracles.binary_cross_entropy(np.ones(n), y, reduction="none")  # 100·(1 − y)
    assert_close(value, clamp, dtype=dtype, scale=1.0, what="BCELoss(sigmoid(x)) value (clamp)")
    check(np.all((grad == 0) | np.isnan(grad)), "BCELoss(sigmoid(x)) gradient", grad, "0 or NaN")
    if np.any(np.isnan(grad)):
        recording.note(f"{dtype_name(dtype)}: BCELoss(sigmoid(x)) gradient is NaN at σ(x) = 1")

    assert_saturated_bce_with_logits(
        binary_cross_entropy_with_logits, logits, target, x, y, cotangent, dtype
    )


def _check_saturation(xs, logits, composite, true, dtype: torch.dtype) -> tuple[float, float]:
    """σ(x) rounds to 1 from x_one, between ln(2/eps) and ln(4/eps), where BCELoss(σ(x), 0) is
    the clamp 100, and BCELoss(σ(x), 0) leaves the bound at x_tol, between |x| = 4 and x_one.
    Returns (x_one, x_tol)."""
    eps = torch.finfo(dtype).eps
    saturated = to_numpy(torch.sigmoid(logits)) == 1.0
    x_one = float(xs[np.argmax(saturated)])
    early = xs[(xs < math.log(2.0 / eps)) & saturated]
    check(early.size == 0, "logits below ln(2/eps) where σ(x) = 1", early, "none")
    past = saturated[xs > saturation_logit(dtype)]
    check(np.all(past), "σ(x) = 1 past ln(4/eps)", past, "all True")
    at_one = composite[saturated]
    check(np.all(at_one == 100.0), "BCELoss(σ(x), 0) where σ(x) = 1", at_one, "the clamp 100")
    x_tol = checked_tolerance_boundary(xs, composite, true, dtype, x_one)
    return x_one, x_tol


def _check_at_40(device, dtype, binary_cross_entropy, binary_cross_entropy_with_logits) -> None:
    """The regression case x = 40, y = 0: BCELoss(σ(x)) = 100 (the clamp), BCEWithLogits = 40."""
    at_40 = np.array([40.0])
    fixed = call_or_skip(
        bce_of_sigmoid(binary_cross_entropy),
        to_device(at_40, device, dtype),
        to_device(np.zeros(1), device, dtype),
    )
    check(float(fixed) == 100.0, "BCELoss(sigmoid(40), 0)", float(fixed), "the clamp 100.0")
    fixed = call_or_skip(
        binary_cross_entropy_with_logits,
        to_device(at_40, device, dtype),
        to_device(np.zeros(1), device, dtype),
    )
    assert_matches_published(fixed, "40", what="BCEWithLogitsLoss(40, 0)")


@pytest.mark.claim("BCE-2")
@pytest.mark.dtypes(torch.float32, torch.float64)
def test_bce2_boundary_where_bce_of_sigmoid_parts_from_bce_with_logits(
    device, dtype, binary_cross_entropy, binary_cross_entropy_with_logits
):
    """The boundary, on the grid x = 0, 1/64, 2/64, ... with y = 0 (the side that breaks):

    - BCEWithLogitsLoss stays within the derived bound of the true loss everywhere;
    - BCELoss(σ(x), 0) leaves it from x_tol (float32 5.72, float64 5.69 on this grid), which
      lies past |x| = 4 (the moderate domain) and before σ(x) rounds to 1;
    - σ(x) rounds to 1 from x_one, between ln(2/eps) and ln(4/eps) (float32: 16.64), and from
      there BCELoss(σ(x), 0) is exactly 100, the clamp, whatever x;
    - regression case, float32 x = 40, y = 0: BCELoss(σ(x)) = 100, BCEWithLogitsLoss = 40.
    """
    eps = torch.finfo(dtype).eps
    xs = np.arange(0.0, math.ceil(saturation_logit(dtype)) + 4.0, 1.0 / 64.0)
    logits, target = to_device(xs, device, dtype), to_device(np.zeros_like(xs), device, dtype)
    composite = to_numpy(
        call_or_skip(bce_of_sigmoid(binary_cross_entropy), logits, target, reduction="none")
    )
    with_logits = call_or_skip(binary_cross_entropy_with_logits, logits, target, reduction="none")
    true = oracles.binary_cross_entropy_with_logits(xs, np.zeros_like(xs), reduction="none")
    assert_close(
        with_logits,
        true,
        dtype=dtype,
        condition=softplus_condition(xs),
        scale=1.0,
        pointwise=True,
        what="BCEWithLogitsLoss value",
    )
    x_one, x_tol = _check_saturation(xs, logits, composite, true, dtype)
    _check_at_40(device, dtype, binary_cross_entropy, binary_cross_entropy_with_logits)
    recording.note(
        f"boundary ({dtype_name(dtype)}, y = 0): BCELoss(sigmoid(x)) leaves the derived bound "
        f"from x = {x_tol:g}; σ(x) rounds to 1 from x = {x_one:g} (ln(2/eps) = "
        f"{math.log(2.0 / eps):.2f}, ln(4/eps) = {saturation_logit(dtype):.2f}), after which "
        f"it is the clamp 100; x = 40: BCELoss(sigmoid(x)) = 100, BCEWithLogitsLoss = 40"
    )


# ---------------------------------------------------------------------------------------------
# BCE-3: pos_weight multiplies the positive term only, broadcast per class


@st.composite
def multilabel_cases(draw, dtype, reduction: str, *, min_n: int = 0, max_n: int = 5) -> vs.LossCase:
    """Multi-label logits (N, C) or (N, C, d), hard or soft targets, per-class ``pos_weight``
    ((C,), or (C, 1) for (N, C, d): it broadcasts along trailing axes) and optional ``weight``."""
    shape = draw(vs.shapes(min_n=min_n, max_n=max_n, min_c=1, max_c=5, max_kdims=1, max_side=3))
    n_classes, extra = shape[1], len(shape) - 2
    params = {
        "reduction": reduction,
        "pos_weight": draw(vs.class_weights(n_classes)).reshape((n_classes,) + (1,) * extra),
    }
    if draw(st.booleans()):
        params["weight"] = draw(element_weights(shape))
    return vs.LossCase(
        scores=draw(vs.logits(shape, vs.logit_bound(dtype))),
        target=draw(vs.binary_targets(shape, soft=draw(st.booleans()))),
        params=params,
        cotangent=draw(vs.cotangents(shape if reduction == "none" else ())),
    )


@pytest.mark.claim("BCE-3")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce3_pos_weight_scales_only_the_positive_term(
    device, dtype, reduction, binary_cross_entropy_with_logits, data
):
    """BCEWithLogitsLoss(x, y, pos_weight=pw) = reduce(−w·(pw·y·log σ(x) + (1 − y)·log σ(−x))).

    Values and gradients (g·w·((1 − y)·σ(x) − pw·y·σ(−x))), over multi-label targets (N, C)
    and (N, C, d), hard and soft, distinct per-class pw over four orders of magnitude, with
    and without ``weight``. "Per class" is PyTorch's trailing-axis broadcasting: pw of shape
    (C,) for (N, C); an (N, C, d) input needs (C, 1) (a (C,) pos_weight raises there).
    """
    case = data.draw(multilabel_cases(dtype, reduction), label="case")
    forms = {"BCEWithLogitsLoss(pos_weight)": binary_cross_entropy_with_logits}
    assert_logit_forms_match_oracle(forms, case, device, dtype)


@pytest.mark.claim("BCE-3")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_bce3_gradcheck(device, dtype, binary_cross_entropy_with_logits, data):
    """BCEWithLogitsLoss with pos_weight and weight passes ``gradcheck`` in float64."""
    reduction = data.draw(vs.reductions(), label="reduction")
    case = data.draw(multilabel_cases(dtype, reduction, min_n=1, max_n=3), label="case")
    x = to_device(case.scores, device, dtype, requires_grad=True)
    y = to_device(case.target, device, dtype)
    params = params_to_device(case.params, device, dtype)
    check_gradients(
        lambda z: binary_cross_entropy_with_logits(z, y, **params), [x], what="BCEWithLogitsLoss"
    )


# ---------------------------------------------------------------------------------------------
# BCE-4: a hand-written BCE with eps = 1e-9 inside both logs, within a domain

TUTORIAL_EPS = 1e-9
EXAMPLE_BCE4 = ([[1.0, -1.0, 2.0], [-0.5, 0.5, -1.5]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], "0.3172")


def tutorial_bce_with_logits(logits, target, reduction="mean"):
    """The tutorial's BCE: sigmoid, then ``eps = 1e-9`` inside both logs "for stability"."""
    eps = 1e-9
    p = torch.sigmoid(logits)
    loss = -(target * torch.log(p + eps) + (1 - target) * torch.log(1 - p + eps))
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def epsilon_in(dtype: torch.dtype) -> float:
    """The ε the hand-written code adds, as ``dtype`` holds it (1e-9 is 0 in float16)."""
    return float(rounded(np.array(TUTORIAL_EPS), dtype))


def assert_epsilon_bias_within_bound(x, y, cotangent, eps, reduction):
    """0 ≤ ℓ − ℓ_ε ≤ ε·(y/σ(x) + (1 − y)/σ(−x)), and the same bound (per unit cotangent) on
    the gap between the gradients, on the float64 oracles, with their own rounding as slack."""
    approx = epsilon_bce.epsilon_bce_with_logits(x, y, eps, reduction)
    approx_grad = epsilon_bce.epsilon_bce_with_logits_vjp(x, y, eps, cotangent, reduction)
    exact = oracles.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    exact_grad = oracles.binary_cross_entropy_with_logits_vjp(x, y, cotangent, reduction=reduction)
    terms, condition = max(x.size, 1), softplus_condition(x)
    slack = tolerance(
        torch.float64, terms=terms, condition=condition, scale=loss_scale(reduction, x.size)
    )
    slack = slack.atol + slack.rtol * np.abs(exact)
    bias = epsilon_bce.epsilon_bias_bound(x, y, eps, reduction)
    check(np.all(exact - approx >= -slack), "exact loss − ε-form", exact - approx, "≥ 0")
    check(np.all(exact - approx <= bias + slack), "ε-bias", exact - approx, f"at most {bias}")
    grad_bias = epsilon_bce.epsilon_bias_bound(x, y, eps, "none") * np.abs(
        expand_cotangent(cotangent, x.shape, reduction)
    )
    grad_slack = tolerance(
        torch.float64,
        terms=terms,
        condition=condition,
        scale=oracles.binary_cross_entropy_with_logits_gradient_bound(
            x, y, cotangent, reduction=reduction
        ),
    )
    gap = np.abs(exact_grad - approx_grad)
    check(np.all(gap <= grad_bias + grad_slack.atol), "ε-gradient gap", gap, f"at most {grad_bias}")


@pytest.mark.claim("BCE-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("handwritten", [tutorial_bce_with_logits], ids=["tutorial"])
@given(data=st.data())
def test_bce4_epsilon_bce_approximates_bce_with_logits_for_moderate_logits(
    device, dtype, reduction, handwritten, binary_cross_entropy_with_logits, data
):
    """For |x| ≤ 4 the hand-written ε-BCE approximates BCEWithLogitsLoss to ε·(1 + e^|x|).

    Exactly: 0 ≤ ℓ − ℓ_ε ≤ ε·(y/σ(x) + (1 − y)/σ(−x)) ≤ ε·(1 + e^4) = 5.6e-8 (and the
    gradients differ by at most the same per unit cotangent), checked on the float64 oracles;
    the hand-written code is held to the oracle of its own ε-formula, BCEWithLogitsLoss to the
    exact loss, values and gradients. Below float64 the ε-bias is under the rounding bound.
    Outside |x| ≤ 4 the hand-written code has BCE-2's problem (it rounds σ(x) before taking
    log(1 − σ(x))), then is capped at −log ε: the boundary specs below.
    """
    case = data.draw(
        binary_cases(dtype, reduction, logits=True, bound=MODERATE_LOGIT, weights=False),
        label="case",
    )
    x, y = rounded(case.scores, dtype), rounded(case.target, dtype)
    cotangent, eps = rounded(case.cotangent, dtype), epsilon_in(dtype)
    approx = epsilon_bce.epsilon_bce_with_logits(x, y, eps, reduction)
    approx_grad = epsilon_bce.epsilon_bce_with_logits_vjp(x, y, eps, cotangent, reduction)
    exact = oracles.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    exact_grad = oracles.binary_cross_entropy_with_logits_vjp(x, y, cotangent, reduction=reduction)
    # The approximation, on the float64 oracles (slack: their own float64 rounding); an empty
    # 'mean' is NaN on every side.
    if x.size:
        assert_epsilon_bias_within_bound(x, y, cotangent, eps, reduction)

    sides = {
        "hand-written ε-BCE": (handwritten, approx, approx_grad),
        "BCEWithLogitsLoss": (binary_cross_entropy_with_logits, exact, exact_grad),
    }
    assert_logit_sides(sides, x, y, cotangent, device, dtype, reduction=reduction)


@pytest.mark.claim("BCE-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("handwritten", [tutorial_bce_with_logits], ids=["tutorial"])
def test_bce4_published_example(device, dtype, handwritten, binary_cross_entropy_with_logits):
    """Logits [[1, −1, 2], [−0.5, 0.5, −1.5]], targets [[1, 0, 1], [0, 1, 0]]: both 0.3172."""
    logits, target, published = EXAMPLE_BCE4
    x = to_device(np.array(logits), device, dtype)
    y = to_device(np.array(target), device, dtype)
    for name, fn in {
        "hand-written ε-BCE": handwritten,
        "BCEWithLogitsLoss": binary_cross_entropy_with_logits,
    }.items():
        assert_matches_published(call_or_skip(fn, x, y), published, what=name)


@pytest.mark.claim("BCE-4")
@pytest.mark.parametrize("handwritten", [tutorial_bce_with_logits], ids=["tutorial"])
@given(data=st.data())
def test_bce4_epsilon_bce_is_capped_at_minus_log_eps(
    device, dtype, handwritten, binary_cross_entropy_with_logits, data
):
    """For |x| ≥ 40 the hand-written loss is −log ε = 20.72 for a wrong hard label whatever
    |x|, with a vanishing gradient, where BCEWithLogitsLoss gives the true |x| and ∓1.

    At |x| ≥ 40, σ(x) as the dtype holds it is 1 or below 5e-18 in every dtype, and the
    hand-written code computes its ε-formula on that rounded σ (it is held to the oracle of
    exactly that). In float16 ε = 1e-9 itself rounds to 0: a wrong label gives log 0 = inf,
    and a right one NaN where σ underflowed (0·log 0), gradients NaN.
    """
    n = data.draw(st.integers(1, 6), label="n")
    magnitudes = st.floats(40.0, vs.logit_bound(dtype)) | st.just(40.0)
    x = data.draw(hnp.arrays(np.float64, (n,), elements=magnitudes), label="|x|")
    x = rounded(
        x * data.draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from([-1.0, 1.0]))), dtype
    )
    y = rounded(data.draw(vs.binary_targets((n,)), label="y"), dtype)
    cotangent, eps = rounded(data.draw(vs.cotangents((n,)), label="g"), dtype), epsilon_in(dtype)
    p = rounded(special.expit(x), dtype)  # σ(x) as the dtype holds it
    logits, target = to_device(x, device, dtype), to_device(y, device, dtype)

    capped = epsilon_bce.epsilon_bce(p, y, eps, "none")
    with np.errstate(invalid="ignore"):
        capped_grad = epsilon_bce.epsilon_bce_vjp(p, y, eps, cotangent, "none") * p * (1.0 - p)
    assert_value_and_gradient(
        handwritten,
        [logits, target],
        capped,
        capped_grad,
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"scale": 1.0, "pointwise": True},
        grad_tolerance={"scale": 1.0},
        what="hand-written",
        reduction="none",
    )
    assert_saturated_bce_with_logits(
        binary_cross_entropy_with_logits, logits, target, x, y, cotangent, dtype
    )


@pytest.mark.claim("BCE-4")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("handwritten", [tutorial_bce_with_logits], ids=["tutorial"])
def test_bce4_boundary_where_epsilon_bce_parts_from_bce_with_logits(
    device, dtype, handwritten, binary_cross_entropy_with_logits
):
    """The float32 boundary, on the grid x = 0, 1/64, ... with y = 0 (a wrong label for x > 0):

    - the hand-written loss leaves the derived bound of the true loss from x_tol = 5.45 (the
      rounding of σ(x) next to 1, as in BCE-2; the ε-bias 1e-9·e^x is smaller there);
    - from x_one = 16.64 (ln(2/eps): σ(x) rounds to 1, "about 17") it is pinned at exactly
      −log(ε) = 20.72, so it overestimates the true loss ≈ x up to x = 20.72 and is capped
      below it from there (x = 40: 20.72 against 40).
    """
    xs = np.arange(0.0, 45.0, 1.0 / 64.0)
    logits, target = to_device(xs, device, dtype), to_device(np.zeros_like(xs), device, dtype)
    approx = to_numpy(call_or_skip(handwritten, logits, target, reduction="none"))
    true = oracles.binary_cross_entropy_with_logits(xs, np.zeros_like(xs), reduction="none")
    saturated = to_numpy(torch.sigmoid(logits)) == 1.0
    x_one = float(xs[np.argmax(saturated)])
    low, high = math.log(2.0 / torch.finfo(dtype).eps), saturation_logit(dtype)
    check(low <= x_one <= high, "first logit where σ(x) = 1", x_one, f"in [{low:.4g}, {high:.4g}]")
    cap = float(approx[saturated][0])
    check(
        np.all(approx[saturated] == cap),
        "hand-written loss once σ(x) = 1",
        approx,
        f"pinned at {cap}",
    )
    assert_matches_published(cap, "20.72", what="hand-written ε-BCE at σ(x) = 1, y = 0")
    x_tol = checked_tolerance_boundary(xs, approx, true, dtype, x_one)
    x_cross = float(xs[np.argmax(true > cap)])

    at_40 = (to_device(np.array([40.0]), device, dtype), to_device(np.zeros(1), device, dtype))
    assert_matches_published(call_or_skip(handwritten, *at_40), "20.72", what="ε-BCE(40, 0)")
    assert_matches_published(
        call_or_skip(binary_cross_entropy_with_logits, *at_40), "40", what="BCEWithLogits(40, 0)"
    )
    recording.note(
        f"boundary (float32, y = 0): the ε = 1e-9 BCE leaves the derived bound from x = "
        f"{x_tol:g}; σ(x) rounds to 1 from x = {x_one:g}, where the loss is pinned at "
        f"−log ε = {cap:.4f} (over the true loss up to x = {x_cross:g}, capped below it "
        f"after); x = 40: 20.72 against BCEWithLogitsLoss 40"
    )


# ---------------------------------------------------------------------------------------------
# BCE-5: the published example

EXAMPLE_BCE5 = ([5.0, 3.0, 10.0, -5.0, -3.0, -10.0], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0], "0.0184")


@pytest.mark.claim("BCE-5")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_bce5_published_example(
    device, dtype, binary_cross_entropy, binary_cross_entropy_with_logits
):
    """BCELoss(sigmoid([5, 3, 10, −5, −3, −10]), [1, 1, 1, 0, 0, 0]) = BCEWithLogitsLoss = 0.0184.

    Both are also held to the float64 oracle (0.018449…, which rounds to the published 0.0184).
    """
    logits, target, published = EXAMPLE_BCE5
    x, y = np.array(logits), np.array(target)
    expected = oracles.binary_cross_entropy_with_logits(x, y)
    inputs = (to_device(x, device, dtype), to_device(y, device, dtype))
    for name, fn in {
        "BCELoss(sigmoid(x))": bce_of_sigmoid(binary_cross_entropy),
        "BCEWithLogitsLoss": binary_cross_entropy_with_logits,
    }.items():
        value = call_or_skip(fn, *inputs)
        assert_matches_published(value, published, what=name)
        assert_close(
            value,
            expected,
            dtype=dtype,
            terms=x.size,
            condition=softplus_condition(x),
            scale=1.0,
            pointwise=True,
            what=f"{name} value",
        )


# ---------------------------------------------------------------------------------------------
# BCE-6: every loss's class form equals its functional form


# The loss's forms, form cases and reductions come from its contract (``verify.contracts``).
CLASS_FORMS = {
    f.module.__name__: (f.functional, f.module, f.cases, f.reductions) for f in class_forms()
}


@pytest.mark.claim("BCE-6")
@pytest.mark.parametrize(
    ("loss", "functional", "module"),
    [pytest.param(name, f, m, id=name) for name, (f, m, _, _) in CLASS_FORMS.items()],
)
@given(data=st.data())
def test_bce6_class_form_equals_functional_form(device, dtype, loss, functional, module, data):
    """``nn.X(**params)(*inputs)`` = ``F.x(*inputs, **params)``, values and input gradients.

    For every loss named in the catalogue that torch provides (and the module forms of
    LogSoftmax and Softmax), with every constructor parameter drawn: weight (class, or
    per-element broadcast for the binary losses), pos_weight, ignore_index, label_smoothing,
    probability targets, beta (0 included), delta, log_target, dim; each example is checked
    under every reduction the loss has (KLDivLoss's 'batchmean' included), so none is
    under-sampled. Each module's forward calls the functional with the arguments it stored,
    so the same kernel runs on the same inputs: on the CPU the results are bitwise equal, and
    that is asserted. Every comparison also goes through the derived tolerance (the only check
    on CUDA, where a few reductions, e.g. nll_loss2d's, add with atomics and PyTorch does not
    promise run-to-run identical bits). In every dtype: the other specs run a loss's module
    form in one dtype only (float64 where they run in it; ``verify.plugin``), relying on this.
    """
    case = data.draw(CLASS_FORMS[loss][2](dtype), label="case")
    inputs = [to_device(a, device, dtype if a.dtype.kind == "f" else None) for a in case.inputs]
    terms = max(case.inputs[0].size, 1)
    for reduction in CLASS_FORMS[loss][3]:
        params = params_to_device(case.params, device, dtype)
        if reduction is not None:
            params["reduction"] = reduction
        shape = case.output_shape if reduction in (None, "none") else ()
        cotangent = rounded(data.draw(vs.cotangents(shape), label=f"g ({reduction})"), dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # KLDivLoss 'mean': both forms warn
            expected, expected_grad = value_and_grad(
                functional, inputs, cotangent=cotangent, **params
            )
            what = f"nn.{loss}" + (f"(reduction={reduction!r})" if reduction else "")
            value, grad = assert_value_and_gradient(
                as_implementation(module),
                inputs,
                expected,
                expected_grad,
                cotangent=cotangent,
                dtype=dtype,
                value_tolerance={"terms": terms},
                grad_tolerance={"terms": terms},
                what=what,
                **params,
            )
        if device == "cpu":
            check(bitwise_equal(value, expected), f"{what} value", value, f"bitwise {expected}")
            check(
                bitwise_equal(grad, expected_grad),
                f"{what} gradient",
                grad,
                f"bitwise {expected_grad}",
            )


# ---------------------------------------------------------------------------------------------
# BCE-7: two-class cross-entropy is BCE with logits on the logit difference


@st.composite
def two_class_cases(draw, dtype, soft: bool, *, reduction: str | None = None, min_n: int = 0):
    case = draw(unweighted_rows(dtype, reduction, min_n=min_n, min_c=2, max_c=2))
    if not soft:
        return case, case.target, case.target.astype(np.float64)
    t = draw(vs.binary_targets((case.scores.shape[0],), soft=True))
    return case, np.stack([1.0 - t, t], axis=1), t


def bce_with_logits_of(binary_cross_entropy_with_logits, reduction):
    def fn(logit, target):
        return binary_cross_entropy_with_logits(logit, target, reduction=reduction)

    return fn


def _two_class_identity_pairs(scores, t, cotangent, reduction, ce, scales) -> list:
    """The identity itself, in float64 on the exact difference z1 − z0: (CE oracle, BCE oracle,
    scale, name) for the values and the gradients of ``ce`` = (value, gradient)."""
    exact = scores[:, 1] - scores[:, 0]
    exact_bce = oracles.binary_cross_entropy_with_logits(exact, t, reduction=reduction)
    exact_grad = oracles.binary_cross_entropy_with_logits_vjp(
        exact, t, cotangent, reduction=reduction
    )
    return [
        (ce[0], exact_bce, scales[0], "oracle identity CE = BCEWithLogits(z1 − z0)"),
        (
            ce[1],
            np.stack([-exact_grad, exact_grad], axis=1),
            scales[1],
            "oracle identity dCE/dz = [−dBCE/dx, dBCE/dx]",
        ),
    ]


def _assert_bce_with_logits(fn, inputs, expected, *, value_tolerance, **kwargs) -> None:
    """BCEWithLogitsLoss of the logit differences against its oracle ``expected`` = (value,
    gradient). log(1 + e^−x) is the log-sum-exp of [0, −x]; the elementwise formula may be
    evaluated in the dtype itself (PyTorch's CPU float16 kernel is), hence pointwise."""
    assert_value_and_gradient(
        fn,
        inputs,
        *expected,
        value_tolerance={**value_tolerance, "pointwise": True},
        what="BCEWithLogitsLoss",
        **kwargs,
    )


@pytest.mark.claim("BCE-7")
@pytest.mark.parametrize("targets", ["hard", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce7_two_class_cross_entropy_equals_bce_with_logits(
    device, dtype, reduction, targets, cross_entropy, binary_cross_entropy_with_logits, data
):
    """CE(z, y) = BCEWithLogits(z1 − z0, y), values and gradients (dCE/dz1 = −dCE/dz0 = dBCE/dx)."""
    case, ce_target, bce_target = data.draw(
        two_class_cases(dtype, targets == "soft", reduction=reduction), label="case"
    )
    scores = rounded(case.scores, dtype)
    logit = rounded(scores[:, 1] - scores[:, 0], dtype)
    t = rounded(bce_target, dtype)
    q = ce_target if targets == "hard" else np.stack([1.0 - t, t], axis=1)
    cotangent = rounded(case.cotangent, dtype)

    expected_ce = oracles.cross_entropy(scores, q, reduction=reduction)
    expected_ce_grad = oracles.cross_entropy_vjp(scores, q, cotangent, reduction=reduction)
    expected_bce = oracles.binary_cross_entropy_with_logits(logit, t, reduction=reduction)
    expected_bce_grad = oracles.binary_cross_entropy_with_logits_vjp(
        logit, t, cotangent, reduction=reduction
    )
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    scale = loss_scale(reduction, scores.shape[0])
    grad_scale = oracles.cross_entropy_gradient_bound(scores, q, cotangent, reduction=reduction)
    check_pairs(
        _two_class_identity_pairs(
            scores, t, cotangent, reduction, (expected_ce, expected_ce_grad), (scale, grad_scale)
        ),
        dtype=torch.float64,
        terms=terms,
        condition=condition,
    )

    x = to_device(case.scores, device, dtype)
    ce_target_t = to_device(q if targets == "soft" else ce_target, device, dtype)
    assert_value_and_gradient(
        cross_entropy,
        [x, ce_target_t],
        expected_ce,
        expected_ce_grad,
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"terms": terms, "condition": condition, "scale": scale},
        grad_tolerance={"terms": terms, "condition": condition, "scale": grad_scale},
        what="CrossEntropyLoss",
        reduction=reduction,
    )
    _assert_bce_with_logits(
        binary_cross_entropy_with_logits,
        [to_device(logit, device, dtype), to_device(t, device, dtype)],
        (expected_bce, expected_bce_grad),
        cotangent=cotangent,
        dtype=dtype,
        value_tolerance={"terms": terms, "condition": softplus_condition(logit), "scale": scale},
        grad_tolerance={"terms": terms, "condition": condition, "scale": grad_scale},
        reduction=reduction,
    )


def nll_of_two_class_log(nll_loss):
    """p ↦ NLL(log[1 − p, p], y): the two-class NLL form of BCE."""

    def fn(p, target, **params):
        return nll_loss(torch.stack([torch.log1p(-p), torch.log(p)], dim=1), target, **params)

    return fn


@pytest.mark.claim("BCE-7")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce7_bce_on_probabilities_equals_two_class_nll(
    device, dtype, reduction, binary_cross_entropy, nll_loss, data
):
    """BCE(p, y) = NLL(log[1 − p, p], y), values and gradients, for p·(1 − p) ≥ 1e-12."""
    n = data.draw(st.integers(0, 8), label="n")
    p = rounded(
        data.draw(vs.probabilities((n,), dtype, margin=BCE_GRADIENT_MARGIN), label="p"), dtype
    )
    y = data.draw(vs.binary_targets((n,)), label="y")
    cotangent = rounded(
        data.draw(vs.cotangents((n,) if reduction == "none" else ()), label="g"), dtype
    )
    expected = oracles.binary_cross_entropy(p, y, reduction=reduction)
    expected_grad = oracles.binary_cross_entropy_vjp(p, y, cotangent, reduction=reduction)
    terms, scale = max(n, 1), loss_scale(reduction, n)

    probabilities = to_device(p, device, dtype)
    sides = {
        "BCELoss": (binary_cross_entropy, to_device(y, device, dtype)),
        "NLLLoss(log[1 − p, p])": (
            nll_of_two_class_log(nll_loss),
            to_device(y.astype(np.int64), device),
        ),
    }
    for name, (fn, target) in sides.items():
        assert_value_and_gradient(
            fn,
            [probabilities, target],
            expected,
            expected_grad,
            cotangent=cotangent,
            dtype=dtype,
            value_tolerance={"terms": terms, "scale": scale},
            grad_tolerance={"terms": terms},
            what=name,
            reduction=reduction,
        )


@pytest.mark.implementation_detail(
    "BCELoss's backward divides by max(p(1 − p), 1e-12): torch's cap, not the contract's gradient"
)
@pytest.mark.claim("BCE-7")
@pytest.mark.dtypes(torch.float64)
def test_bce7_bce_gradient_is_capped_near_zero(device, dtype, binary_cross_entropy, nll_loss):
    """Outside p·(1 − p) ≥ 1e-12 the two gradients part: BCELoss's is capped, NLL's is −1/p."""
    p = to_device(np.array([1e-20]), device, dtype)
    y = np.array([1.0])
    _, capped = value_and_grad(
        binary_cross_entropy, [p, to_device(y, device, dtype)], cotangent=1.0
    )
    _, exact = value_and_grad(
        nll_of_two_class_log(nll_loss), [p, to_device(y.astype(np.int64), device)], cotangent=1.0
    )
    assert_close(exact, -1.0 / np.array([1e-20]), dtype=dtype, what="NLL-form gradient −1/p")
    check(
        abs(capped[0]) <= 1.01e12 < abs(exact[0]),
        "BCELoss gradient",
        capped[0],
        f"capped at 1e12 (exact {exact[0]:.3g})",
    )
    recording.note(f"at p = 1e-20, y = 1: BCELoss gradient {capped[0]:.3g}, −1/p = {exact[0]:.3g}")


@pytest.mark.claim("BCE-7")
@pytest.mark.dtypes(torch.float64)
@given(data=st.data())
def test_bce7_gradcheck(device, dtype, cross_entropy, binary_cross_entropy_with_logits, data):
    """Both logit forms pass ``torch.autograd.gradcheck`` in float64."""
    case, ce_target, bce_target = data.draw(
        two_class_cases(dtype, soft=False, min_n=1), label="case"
    )
    reduction = case.params["reduction"]
    x = to_device(case.scores, device, dtype, requires_grad=True)
    y, t = to_device(ce_target, device), to_device(bce_target, device, dtype)
    check_gradients(lambda z: cross_entropy(z, y, reduction=reduction), [x], what="CE")
    fn = bce_with_logits_of(binary_cross_entropy_with_logits, reduction)
    check_gradients(lambda z: fn(z[:, 1] - z[:, 0], t), [x], what="BCEWithLogits(z1 − z0)")


# ---------------------------------------------------------------------------------------------
# BCE-8 (refuted): "the loss → 0 as p → 0 and as p → 1"


@pytest.mark.claim("BCE-8")
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_bce8_loss_vanishes_only_as_p_approaches_the_target(
    device, dtype, binary_cross_entropy, data
):
    """Refuted: for a hard label y the loss grows as p moves away from y, without bound up to
    the clamp: p = 1 − y gives exactly 100 (y = 1: −log p → ∞ as p → 0); it tends to 0 only as
    p → y (exactly 0 at p = y).

    Probabilities anywhere in [0, 1] (edges and values below e^−100 included) are sorted from
    the label to the other end; the loss, held to the oracle, is non-decreasing along them, 0
    at p = y and 100 at p = 1 − y.
    """
    y = data.draw(st.sampled_from([0.0, 1.0]), label="y")
    n = data.draw(st.integers(1, 8), label="n")
    p = data.draw(probabilities_with_edges((n,), dtype), label="p")
    p = np.concatenate([p, [y, 1.0 - y]])
    p = np.sort(p)[::-1] if y == 1.0 else np.sort(p)  # from p = y to p = 1 − y (no |p − y|:
    # 1 − 1e-40 rounds to 1, which would tie 1e-40 with 0)
    target = np.full(p.shape, y)
    value, expected = assert_per_element_bce(binary_cross_entropy, p, target, device, dtype)
    check(np.all(np.diff(expected) >= 0), "oracle BCE along |p − y|", expected, "nondecreasing")
    values = to_numpy(value)
    check(values[0] == 0.0, f"BCELoss at p = y = {y:g}", values[0], 0.0)
    check(values[-1] == 100.0, f"BCELoss at p = {1 - y:g}, y = {y:g}", values[-1], 100.0)
    fixed = to_numpy(
        call_or_skip(
            binary_cross_entropy,
            to_device(np.array([0.1, 1e-10, 0.0]), device, dtype),
            to_device(np.ones(3), device, dtype),
            reduction="none",
        )
    )
    check(
        fixed[0] < fixed[1] < fixed[2] == 100.0,
        "BCELoss at y = 1, p = 0.1, 1e-10, 0",
        fixed,
        "increasing to 100",
    )
    recording.note(
        f"counterexample: y = 1: BCE = {fixed[0]:.4g}, {fixed[1]:.4g}, {fixed[2]:.4g} (clamp) "
        f"at p = 0.1, 1e-10, 0: it grows without bound (to the clamp) as p → 0, → 0 only as p → y"
    )


# ---------------------------------------------------------------------------------------------
# BCE-9 (refuted): "binary_cross_entropy_with_logits takes sigmoid-processed outputs"

DOUBLE_SIGMOID_FLOOR = float(np.logaddexp(0.0, -1.0))  # log(1 + e^−1) = 0.3133


@pytest.mark.claim("BCE-9")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce9_probabilities_fed_to_bce_with_logits_get_a_second_sigmoid(
    device, dtype, reduction, binary_cross_entropy, binary_cross_entropy_with_logits, data
):
    """Refuted: fed s = σ(x), BCEWithLogitsLoss computes BCE(σ(s), y) = BCE(σ(σ(x)), y), a
    different loss from BCEWithLogitsLoss(x, y) = BCE(σ(x), y).

    Values and gradients (with respect to s) of BCEWithLogitsLoss(s, y) and of BCELoss(σ(s), y)
    equal the oracle of the logits loss at s, and the two oracles agree (in float64). Since
    σ(s) ∈ [0.5, 0.731], each element lies in [log(1 + e^−1), log(1 + e)] = [0.3133, 1.313]:
    however confident the model, the loss never falls below 0.3133.
    """
    case = data.draw(binary_cases(dtype, reduction, logits=True), label="case")
    s = rounded(special.expit(rounded(case.scores, dtype)), dtype)  # "sigmoid-processed"
    y, params = rounded(case.target, dtype), params_rounded(case.params, dtype)
    cotangent = rounded(case.cotangent, dtype)
    expected = oracles.binary_cross_entropy_with_logits(s, y, **params)
    expected_grad = oracles.binary_cross_entropy_with_logits_vjp(s, y, cotangent, **params)
    twice = special.expit(s)
    assert_close(
        oracles.binary_cross_entropy(twice, y, **params),
        expected,
        dtype=torch.float64,
        terms=max(s.size, 1),
        scale=loss_scale(reduction, s.size, params.get("weight")),
        what="oracle identity BCEWithLogits(s) = BCE(σ(s))",
    )

    # binary_cases draws no pos_weight: the sides' scale is the reduced weight's.
    sides = {
        "BCEWithLogitsLoss(σ(x))": (binary_cross_entropy_with_logits, expected, expected_grad),
        "BCELoss(σ(σ(x)))": (bce_of_sigmoid(binary_cross_entropy), expected, expected_grad),
    }
    assert_logit_sides(sides, s, y, cotangent, device, dtype, grad_condition=False, **params)


@pytest.mark.claim("BCE-9")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_bce9_counterexample(device, dtype, binary_cross_entropy_with_logits):
    """A confident, correct model x = [10, −10], y = [1, 0]: BCEWithLogitsLoss(x, y) = 4.5e-5,
    but BCEWithLogitsLoss(σ(x), y) = 0.5032 (σ applied twice), over 10000 times more; per
    element it is at least log(1 + e^−1) = 0.3133 (y = 1) and log 2 (y = 0)."""
    x, y = np.array([10.0, -10.0]), np.array([1.0, 0.0])
    s = rounded(special.expit(rounded(x, dtype)), dtype)
    target = to_device(y, device, dtype)
    values = {}
    for name, z in [("BCEWithLogitsLoss(x)", x), ("BCEWithLogitsLoss(σ(x))", s)]:
        value = call_or_skip(
            binary_cross_entropy_with_logits, to_device(z, device, dtype), target, reduction="none"
        )
        assert_close(
            value,
            oracles.binary_cross_entropy_with_logits(z, y, reduction="none"),
            dtype=dtype,
            condition=softplus_condition(z),
            scale=1.0,
            pointwise=True,
            what=f"{name} value",
        )
        values[name] = to_numpy(value)
    right, wrong = values["BCEWithLogitsLoss(x)"], values["BCEWithLogitsLoss(σ(x))"]
    floor = np.array([DOUBLE_SIGMOID_FLOOR, math.log(2.0)]) * (1.0 - tolerance(dtype).rtol)
    check(np.all(wrong >= floor), "BCEWithLogitsLoss(σ(x))", wrong, f"at least {floor}")
    check(
        wrong.mean() > 1e4 * right.mean(),
        "mean BCEWithLogitsLoss(σ(x))",
        wrong.mean(),
        f"more than 1e4 × the right loss {right.mean():.4g}",
    )
    recording.note(
        f"counterexample: x = [10, −10], y = [1, 0]: BCEWithLogitsLoss(x) = {right.mean():.3g}, "
        f"BCEWithLogitsLoss(σ(x)) = {wrong.mean():.4f} = BCE(σ(σ(x))) (never below 0.3133)"
    )
