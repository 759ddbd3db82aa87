"""The regression specs (REG-1 … REG-3, ``specs/test_regression.py``) fail on the planted bugs of
``tests/planted_regression.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given, settings

from specs import test_regression as reg_specs
from tests import planted_regression as planted
from tests.planting import CPU64, spec_failure
from tests.test_oracles import numeric_vjp
from verify.oracles import regression as oracle
from verify.oracles.reduction import REDUCTIONS


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reg1_accepts_the_manual_l1_and_mse_without_bugs(reduction):
    reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error(
        **CPU64, reduction=reduction, l1_loss=planted.manual_l1(), mse_loss=planted.manual_mse()
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reg2_accepts_the_manual_smooth_l1_and_huber_without_bugs(reduction):
    reg_specs.test_reg2_smooth_l1_and_huber_match_piecewise_definitions(
        **CPU64,
        reduction=reduction,
        smooth_l1_loss=planted.manual_smooth_l1(),
        huber_loss=planted.manual_huber(),
    )


def test_reg2_continuity_accepts_the_manual_smooth_l1_and_huber_without_bugs():
    reg_specs.test_reg2_continuous_with_continuous_slope_at_beta(
        **CPU64, smooth_l1_loss=planted.manual_smooth_l1(), huber_loss=planted.manual_huber()
    )


def test_reg2_half_mse_spec_cannot_see_a_missing_1_over_beta_at_beta_1():
    """The factor spec runs at β = 1, where forgetting 1/β changes nothing: it passes.

    The other REG-2 specs draw β over orders of magnitude and catch that bug.
    """
    reg_specs.test_reg2_inside_unit_interval_smooth_l1_is_half_mse(
        **CPU64, smooth_l1_loss=planted.manual_smooth_l1(forget_beta=True)
    )


def test_reg3_accepts_the_manual_smooth_l1_without_bugs():
    reg_specs.test_reg3_smooth_l1_gradient_bounded_mse_gradient_linear(
        **CPU64, smooth_l1_loss=planted.manual_smooth_l1(), mse_loss=planted.manual_mse()
    )


REG1 = reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error
REG2 = reg_specs.test_reg2_smooth_l1_and_huber_match_piecewise_definitions
REG2_CONTINUITY = reg_specs.test_reg2_continuous_with_continuous_slope_at_beta
REG3 = reg_specs.test_reg3_smooth_l1_gradient_bounded_mse_gradient_linear


@pytest.mark.parametrize(
    ("spec", "losses", "messages", "reduction"),
    [
        pytest.param(
            REG1,
            {"l1_loss": planted.manual_l1(mean_over_batch=True), "mse_loss": F.mse_loss},
            ["L1Loss value"],
            "mean",
            id="reg1-l1-mean-over-batch-size",
        ),
        pytest.param(
            REG1,
            {"l1_loss": F.l1_loss, "mse_loss": planted.manual_mse(backward_factor=1.0)},
            ["MSELoss gradient"],
            "none",
            id="reg1-mse-backward-without-the-factor-2",
        ),
        pytest.param(
            REG2,
            {
                "smooth_l1_loss": planted.manual_smooth_l1(forget_beta=True),
                "huber_loss": F.huber_loss,
            },
            ["SmoothL1Loss"],
            "none",
            id="reg2-definition-smooth-l1-without-1-over-beta",
        ),
        pytest.param(
            REG2_CONTINUITY,
            {
                "smooth_l1_loss": F.smooth_l1_loss,
                "huber_loss": planted.manual_huber(forget_delta=True),
            },
            ["HuberLoss"],
            None,
            id="reg2-continuity-huber-without-delta",
        ),
        pytest.param(
            REG3,
            {"smooth_l1_loss": planted.smooth_l1_as_huber, "mse_loss": F.mse_loss},
            ["SmoothL1Loss(beta=", "gradient"],
            None,
            id="reg3-smooth-l1-mixed-up-with-huber",
        ),
    ],
)
def test_regression_specs_catch_planted_bug(spec, losses, messages, reduction):
    """The spec (with ``reduction``, where it takes one) fails on the planted bug in
    ``losses``, naming every one of ``messages``."""
    arguments = losses if reduction is None else {"reduction": reduction, **losses}
    failure = spec_failure(spec, **CPU64, **arguments)
    assert all(message in failure for message in messages), failure


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["l1", "mse", "smooth_l1", "huber"])
def test_regression_oracle_vjps_match_finite_differences(loss, reduction):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 4))
    sizes = rng.choice([0.3, 0.7, 1.6, 4.0], size=y.shape)  # none within 1e-6 of a kink
    x = y + rng.choice([-1.0, 1.0], size=y.shape) * sizes
    cotangent = rng.normal(size=y.shape) if reduction == "none" else rng.normal()
    params = {"smooth_l1": {"beta": 1.1}, "huber": {"delta": 0.9}}.get(loss, {})
    value = getattr(oracle, f"{loss}_loss")
    vjp = getattr(oracle, f"{loss}_loss_vjp")
    expected = numeric_vjp(lambda a: value(a, y, reduction, **params), x, cotangent)
    np.testing.assert_allclose(vjp(x, y, cotangent, reduction, **params), expected, atol=1e-7)


def test_regression_oracles_match_loops_and_pytorch_conventions():
    d = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.0])
    y = np.zeros_like(d)
    beta, delta = 1.0, 2.0
    smooth = [0.5 * v * v / beta if abs(v) < beta else abs(v) - 0.5 * beta for v in d]
    huber = [0.5 * v * v if abs(v) < delta else delta * (abs(v) - 0.5 * delta) for v in d]
    np.testing.assert_allclose(oracle.smooth_l1_loss(d, y, "none", beta), smooth)
    np.testing.assert_allclose(oracle.huber_loss(d, y, "none", delta), huber)
    np.testing.assert_allclose(oracle.mse_loss(d, y, "mean"), np.mean(d * d))
    np.testing.assert_allclose(oracle.l1_loss(d, y, "sum"), np.sum(np.abs(d)))
    # β = 0 is L1, with the subgradient 0 at d = 0; SmoothL1's slope is continuous at |d| = β.
    np.testing.assert_array_equal(oracle.smooth_l1_loss(d, y, "none", 0.0), np.abs(d))
    np.testing.assert_array_equal(oracle.smooth_l1_loss_vjp(d, y, 1.0, "none", 0.0), np.sign(d))
    assert oracle.l1_loss_vjp(d, y, 1.0, "none")[3] == 0.0
    np.testing.assert_array_equal(oracle.smooth_l1_derivative(np.array([-1.0, 1.0]), 1.0), [-1, 1])
    assert np.isnan(oracle.mse_loss(np.zeros(0), np.zeros(0), "mean"))
    with pytest.raises(ValueError):
        oracle.huber_loss(d, y, "none", 0.0)


@pytest.mark.parametrize("kink", [None, 0.0, 0.1, 2.0])
def test_second_order_draws_keep_away_from_ties_and_kinks(kink):
    """REG-1/REG-2's gradgradcheck pairs: never a tie (where 0.5·|d|², as detectron2 writes
    smooth L1, has autograd's second derivative sign(0)² = 0 with right values and gradients),
    never within the margin of the kink."""
    margin = reg_specs.KINK_MARGIN

    @settings(max_examples=50, derandomize=True, database=None)
    @given(reg_specs.away_from_kinks(kink))
    def draws(pair):
        d = np.abs(pair[0] - pair[1])
        assert np.all(d >= margin * (kink or 1.0) * 0.999)
        if kink is not None:
            assert np.all(np.abs(d - kink) >= margin * kink * 0.999)

    draws()
