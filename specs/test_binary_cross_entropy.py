"""Binary cross-entropy family: BCE-7 (headline), BCE equals CE for two classes.

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
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import value_and_grad
from verify.devices import rounded, to_device
from verify.oracles.reduction import REDUCTIONS
from verify.tolerances import assert_close, logsumexp_condition, loss_scale

BCE_GRADIENT_MARGIN = 2e-12  # p·(1 − p) ≥ 1e-12: where BCELoss's backward is not capped


@st.composite
def two_class_cases(draw, dtype, soft: bool, *, reduction: str | None = None, min_n: int = 0):
    case = draw(
        vs.classification_cases(
            dtype,
            min_n=min_n,
            min_c=2,
            max_c=2,
            max_kdims=0,
            weights=False,
            ignore_index=False,
            reduction=reduction,
        )
    )
    if not soft:
        return case, case.target, case.target.astype(np.float64)
    t = draw(vs.binary_targets((case.scores.shape[0],), soft=True))
    return case, np.stack([1.0 - t, t], axis=1), t


def bce_with_logits_of(binary_cross_entropy_with_logits, reduction):
    def fn(logit, target):
        return binary_cross_entropy_with_logits(logit, target, reduction=reduction)

    return fn


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
    # The identity itself, in float64 on the exact difference.
    exact = scores[:, 1] - scores[:, 0]
    exact_bce = oracles.binary_cross_entropy_with_logits(exact, t, reduction=reduction)
    exact_grad = oracles.binary_cross_entropy_with_logits_vjp(
        exact, t, cotangent, reduction=reduction
    )
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    scale = loss_scale(reduction, scores.shape[0])
    grad_scale = oracles.cross_entropy_gradient_bound(scores, q, cotangent, reduction=reduction)
    assert_close(
        expected_ce,
        exact_bce,
        dtype=torch.float64,
        terms=terms,
        condition=condition,
        scale=scale,
        what="oracle identity CE = BCEWithLogits(z1 − z0)",
    )
    assert_close(
        expected_ce_grad,
        np.stack([-exact_grad, exact_grad], axis=1),
        dtype=torch.float64,
        terms=terms,
        condition=condition,
        scale=grad_scale,
        what="oracle identity dCE/dz = [−dBCE/dx, dBCE/dx]",
    )

    x = to_device(case.scores, device, dtype)
    ce_target_t = to_device(q if targets == "soft" else ce_target, device, dtype)
    value, grad = value_and_grad(
        cross_entropy, [x, ce_target_t], cotangent=cotangent, reduction=reduction
    )
    assert_close(
        value,
        expected_ce,
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=scale,
        what="CrossEntropyLoss value",
    )
    assert_close(
        grad,
        expected_ce_grad,
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=grad_scale,
        what="CrossEntropyLoss gradient",
    )

    d, target = to_device(logit, device, dtype), to_device(t, device, dtype)
    value, grad = value_and_grad(
        binary_cross_entropy_with_logits, [d, target], cotangent=cotangent, reduction=reduction
    )
    # log(1 + e^−x) is the log-sum-exp of [0, −x]; the elementwise formula may be evaluated in
    # the dtype itself (PyTorch's CPU float16 kernel is), hence pointwise.
    bce_condition = logsumexp_condition(np.stack([np.zeros_like(logit), logit], axis=1))
    assert_close(
        value,
        expected_bce,
        dtype=dtype,
        terms=terms,
        condition=bce_condition,
        scale=scale,
        pointwise=True,
        what="BCEWithLogitsLoss value",
    )
    assert_close(
        grad,
        expected_bce_grad,
        dtype=dtype,
        terms=terms,
        condition=condition,
        scale=grad_scale,
        what="BCEWithLogitsLoss gradient",
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
        value, grad = value_and_grad(
            fn, [probabilities, target], cotangent=cotangent, reduction=reduction
        )
        assert_close(value, expected, dtype=dtype, terms=terms, scale=scale, what=f"{name} value")
        assert_close(grad, expected_grad, dtype=dtype, terms=terms, what=f"{name} gradient")


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
    assert abs(capped[0]) <= 1.01e12 < abs(exact[0]), f"BCELoss gradient {capped[0]} is not capped"
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
    assert torch.autograd.gradcheck(lambda z: cross_entropy(z, y, reduction=reduction), (x,))
    fn = bce_with_logits_of(binary_cross_entropy_with_logits, reduction)
    assert torch.autograd.gradcheck(lambda z: fn(z[:, 1] - z[:, 0], t), (x,))
