"""Objectives: OBJ-1, the gradient of loss + penalty is the sum of the gradients (L2 and L1).

The problem is the linear softmax classifier of the WD-* specs (``specs.linear_problems``);
the reference is the float64 oracle's cross-entropy gradient plus λ·W or λ·sign(W).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from specs.linear_problems import classifier_problems, gradient_magnitude, oracle_gradient
from verify import oracles
from verify.autodiff import value_and_grad
from verify.devices import to_device
from verify.tolerances import assert_close, logsumexp_condition, loss_scale

# OBJ-1: the gradient of loss + regularization is the sum of the gradients.

PENALTIES = {  # R(w, λ) as users write it in torch
    "L2": lambda w, lam: lam / 2 * (w * w).sum(),
    "L1": lambda w, lam: lam * w.abs().sum(),
}
PENALTY_ORACLES = {  # (R(w, λ), ∇R(w, λ)) in NumPy
    "L2": (lambda w, lam: lam / 2 * np.sum(w * w), lambda w, lam: lam * w),
    "L1": (lambda w, lam: lam * np.sum(np.abs(w)), lambda w, lam: lam * np.sign(w)),
}


@pytest.mark.claim("OBJ-1")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.bfloat16)
@pytest.mark.parametrize(("regularizer", "penalty"), list(PENALTIES.items()), ids=list(PENALTIES))
@pytest.mark.implementations("cross_entropy", {"functional": F.cross_entropy})
@given(data=st.data())
def test_obj1_gradient_of_sum_is_sum_of_gradients(
    device, dtype, regularizer, penalty, cross_entropy, data
):
    """∇(CE(X·Wᵀ, y) + R(W)) = ∇CE + ∇R, for R = (λ/2)‖W‖² and R = λ‖W‖₁ (sign(0) = 0).

    Three ways: autograd of the sum, the sum of two separate autograd gradients, and the
    float64 oracle (cross-entropy VJP times X, plus λ·W or λ·sign(W)).
    """
    problem = data.draw(classifier_problems(dtype), label="problem")
    X, y, W0, lam = problem["X"], problem["y"], problem["W0"], problem["weight_decay"]
    x, target = to_device(X, device, dtype), to_device(y, device)
    W = to_device(W0, device, dtype)

    def loss(w):
        return cross_entropy(x @ w.T, target)

    def objective(w):
        return loss(w) + penalty(w, lam)

    value, grad_sum = value_and_grad(objective, [W], cotangent=1.0)
    _, grad_loss = value_and_grad(loss, [W], cotangent=1.0)
    _, grad_penalty = value_and_grad(lambda w: penalty(w, lam), [W], cotangent=1.0)

    scores = X @ W0.T
    penalty_value, penalty_gradient = PENALTY_ORACLES[regularizer]
    expected_grad = oracle_gradient(X, y)(W0) + penalty_gradient(W0, lam)
    expected = oracles.cross_entropy(scores, y) + penalty_value(W0, lam)
    condition, terms = logsumexp_condition(scores), X.size * W0.shape[0]
    # The logits X·Wᵀ are a matmul's output, rounded to the dtype before the loss sees them:
    # intermediates in the dtype itself (pointwise=True), with the mean's scale 1 plus R's.
    tolerances = {"dtype": dtype, "terms": terms, "condition": condition, "pointwise": True}
    value_scale = loss_scale("mean", y.size) + penalty_value(np.abs(W0), lam)
    assert_close(value, expected, scale=value_scale, what="loss + R", **tolerances)
    # The size of the terms the gradient adds up; at least the smallest normal, below which
    # (λ·w of a small w in a 16-bit dtype) gradual underflow rounds in steps of tiny·eps.
    grad_scale = float(np.max(gradient_magnitude(X, y, W0) + lam * np.abs(W0)))
    grad_scale = max(grad_scale, torch.finfo(dtype).tiny)
    for actual, reference, what in (
        (grad_sum, expected_grad, "∇(loss + R)"),
        (grad_loss + grad_penalty, expected_grad, "∇loss + ∇R"),
        (grad_sum, grad_loss + grad_penalty, "∇(loss + R) against ∇loss + ∇R"),
    ):
        assert_close(actual, reference, scale=grad_scale, what=what, **tolerances)
