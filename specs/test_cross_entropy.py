"""Cross-entropy family: CE-1 (headline) and the CE-4 published example.

Every test takes its implementations as arguments named after contracts (``cross_entropy``,
``nll_loss``, ``log_softmax``, ``kl_div``); the verify plugin supplies the torch functional and
module forms, and the self-tests in ``tests/`` call the same tests with planted bugs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from verify import oracles
from verify import strategies as vs
from verify.autodiff import call_or_skip, value_and_grad
from verify.devices import params_rounded, params_to_device, rounded, to_device
from verify.oracles.reduction import REDUCTIONS
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
    x, y = to_device(case.scores, device, dtype), to_device(case.target, device)
    params = params_to_device(case.params, device, dtype)
    cotangent = rounded(case.cotangent, dtype)

    scores, ref_params = rounded(case.scores, dtype), params_rounded(case.params, dtype)
    expected = oracles.cross_entropy(scores, case.target, **ref_params)
    expected_grad = oracles.cross_entropy_vjp(scores, case.target, cotangent, **ref_params)
    condition, terms = logsumexp_condition(scores), max(scores.size, 1)
    scale = loss_scale(params["reduction"], case.target.size, ref_params.get("weight"))
    grad_scale = oracles.cross_entropy_gradient_bound(scores, case.target, cotangent, **ref_params)

    sides = {
        "CrossEntropyLoss": cross_entropy,
        "NLLLoss(LogSoftmax)": nll_of_log_softmax(nll_loss, log_softmax),
    }
    for name, fn in sides.items():
        value, grad = value_and_grad(fn, [x, y], cotangent=cotangent, **params)
        assert_close(
            value,
            expected,
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=scale,
            what=f"{name} value",
        )
        assert_close(
            grad,
            expected_grad,
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=grad_scale,
            what=f"{name} gradient",
        )


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
        assert torch.autograd.gradcheck(lambda s, fn=fn: fn(s, y, **params), (x,))


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
