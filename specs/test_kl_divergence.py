"""KL divergence family: KL-2 (headline).

``KLDivLoss(log_softmax(x), onehot(y), reduction='batchmean')`` equals ``CE(x, y)``: with a
one-hot target, Σ_c t_c log t_c = 0, so KL reduces to −log p_y per sample, and 'batchmean'
divides by N as CE's mean does. 'mean' divides by N·C instead, and PyTorch warns about it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import call_or_skip, value_and_grad
from verify.devices import rounded, to_device
from verify.tolerances import assert_close, logsumexp_condition


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
        value, grad = value_and_grad(fn, inputs, cotangent=case.cotangent)
        assert_close(
            value,
            expected,
            dtype=dtype,
            terms=terms,
            condition=condition,
            scale=1.0,
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


@pytest.mark.claim("KL-2")
@given(data=st.data())
def test_kl2_mean_reduction_is_cross_entropy_over_classes(device, dtype, kl_div, log_softmax, data):
    """With reduction 'mean' the same KL is CE/C, not CE (it divides by N·C), and PyTorch warns."""
    case = _case(data, dtype)
    n_classes = case.scores.shape[1]
    x = to_device(case.scores, device, dtype)
    one_hot = to_device(np.eye(n_classes)[case.target], device, dtype)
    scores = rounded(case.scores, dtype)
    with pytest.warns(UserWarning, match="batchmean"):
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
    assert torch.autograd.gradcheck(fn, (x,))
