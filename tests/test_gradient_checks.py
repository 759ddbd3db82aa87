"""``verify.checks.check_gradients`` on implementations that support one backward pass per
forward (``tests/one_backward_pass.py``): their gradient is still checked, by directions, a
wrong one still fails, and a second-order check they cannot take is unsupported, not failed."""

from __future__ import annotations

import pytest
import torch

from tests import one_backward_pass
from verify import check
from verify.checks import check_gradients
from verify.plugin import NO_DOUBLE_BACKWARD

X = torch.tensor([[0.5, -1.0, 2.0], [0.25, 3.0, -0.5]], dtype=torch.float64, requires_grad=True)
Y = torch.zeros(2, 3, dtype=torch.float64)


def test_a_function_with_one_backward_pass_has_its_gradient_checked_by_directions():
    check_gradients(lambda x: one_backward_pass.mse_loss(x, Y, reduction="sum"), [X])
    with pytest.raises(AssertionError, match=r"\(along a random direction\): got"):
        check_gradients(lambda x: one_backward_pass.mse_loss_half_gradient(x, Y), [X])


def test_a_second_order_check_without_double_backward_is_unsupported():
    with pytest.raises(pytest.skip.Exception, match=NO_DOUBLE_BACKWARD):
        check_gradients(lambda x: one_backward_pass.mse_loss(x, Y), [X], second_order=True)


def test_a_wrong_second_derivative_still_fails():
    """Planted: d² written as |d|², whose second derivative autograd takes at d = 0 as
    2·sign(0)² = 0, not 2."""
    at_zero = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(AssertionError, match=r"\(gradgradcheck\): got"):
        check_gradients(lambda x: (x - 0.0).abs() ** 2, [at_zero], second_order=True)


def test_one_backward_pass_conforms_claims_included():
    report = check(
        "tests/one_backward_pass.py:mse_loss",
        "mse_loss",
        dtypes=(torch.float64,),
        profile="ci",  # derandomized: the same examples every run
        claims=True,
    )
    unsupported = [c for c in report.checks if c.status == "unsupported"]
    assert report.verdict == "conforms on the features it supports", [
        (c.name, c.status, c.message) for c in report.checks
    ]
    assert unsupported and all(NO_DOUBLE_BACKWARD in c.message for c in unsupported)
