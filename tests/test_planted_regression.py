"""The REG-1/2/3 and MISC-1/2 specs fail on planted, realistic bugs, and pass without them.

(The last section checks the regression oracles themselves against finite differences and
loops written from the definitions.)

Each factory below builds a hand-written loss from torch primitives; with no bug switched on
it computes the right thing (the controls show the spec accepts it), and each switch plants
one bug seen in real code. The specs are called directly, with the hand-written loss in place
of the torch one, in float64 on the CPU.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specs import test_other_losses as other_specs
from specs import test_regression as reg_specs
from tests.planting import CPU64, spec_failure
from tests.test_oracles import numeric_vjp
from verify.oracles import regression as oracle
from verify.oracles.reduction import REDUCTIONS


def _reduce(losses: torch.Tensor, reduction: str, count: int | None = None) -> torch.Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (losses.numel() if count is None else count)


def manual_l1(*, mean_over_batch: bool = False):
    """|x − y| with a reduction. Bug ``mean_over_batch``: 'mean' divides by N, not numel."""

    def l1_loss(input, target, reduction="mean"):
        losses = (input - target).abs()
        return _reduce(losses, reduction, input.shape[0] if mean_over_batch else None)

    return l1_loss


def manual_mse(*, backward_factor: float = 2.0):
    """(x − y)² through a custom autograd.Function whose backward is written by hand.

    Bug ``backward_factor=1``: the backward returns g·d, forgetting the 2 of d(d²)/dd; the
    forward (and so every value) stays right.
    """

    class SquaredError(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, target):
            difference = input - target
            ctx.save_for_backward(difference)
            return difference * difference

        @staticmethod
        def backward(ctx, grad):
            (difference,) = ctx.saved_tensors
            local = backward_factor * difference * grad
            return local, -local

    def mse_loss(input, target, reduction="mean"):
        return _reduce(SquaredError.apply(input, target), reduction)

    return mse_loss


def manual_smooth_l1(*, forget_beta: bool = False):
    """SmoothL1(β) from its two branches. Bug ``forget_beta``: 0.5·d² inside, not 0.5·d²/β."""

    def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
        d = (input - target).abs()
        inside = 0.5 * d * d if forget_beta else 0.5 * d * d / beta
        return _reduce(torch.where(d < beta, inside, d - 0.5 * beta), reduction)

    return smooth_l1_loss


def manual_huber(*, forget_delta: bool = False):
    """Huber(δ) from its two branches. Bug ``forget_delta``: |d| − 0.5·δ outside, without δ·."""

    def huber_loss(input, target, reduction="mean", delta=1.0):
        d = (input - target).abs()
        outside = d - 0.5 * delta if forget_delta else delta * (d - 0.5 * delta)
        return _reduce(torch.where(d < delta, 0.5 * d * d, outside), reduction)

    return huber_loss


def smooth_l1_as_huber(input, target, reduction="mean", beta=1.0):
    """SmoothL1(β) mixed up with Huber(δ=β): δ times too large, slopes up to β, not 1."""
    return F.huber_loss(input, target, reduction=reduction, delta=beta)


ASMOutput = namedtuple("ASMOutput", ["output", "loss"])


def planted_adaptive(*, loss_sum: bool = False):
    """An adaptive softmax whose forward gathers log_prob at the targets, by hand.

    Bug ``loss_sum``: ``.loss`` is −Σ output instead of −mean(output) (NLL with 'sum').
    """

    class PlantedAdaptiveLogSoftmax(nn.AdaptiveLogSoftmaxWithLoss):
        def forward(self, input, target):
            output = self.log_prob(input).gather(1, target.unsqueeze(1)).squeeze(1)
            return ASMOutput(output, -output.sum() if loss_sum else -output.mean())

    return PlantedAdaptiveLogSoftmax


def keras_order_bce(*, swap: bool = False):
    """BCE wrapped for a port of Keras code. Bug ``swap``: keeps Keras' (y_true, y_pred)."""

    def binary_cross_entropy(input, target, reduction="mean"):
        if swap:
            input, target = target, input
        return F.binary_cross_entropy(input, target, reduction=reduction)

    return binary_cross_entropy


# --------------------------------------------------------------------------------------------
# REG-1


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reg1_accepts_the_manual_l1_and_mse_without_bugs(reduction):
    reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error(
        **CPU64, reduction=reduction, l1_loss=manual_l1(), mse_loss=manual_mse()
    )


def test_reg1_catches_l1_mean_over_batch_size():
    failure = spec_failure(
        reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error,
        **CPU64,
        reduction="mean",
        l1_loss=manual_l1(mean_over_batch=True),
        mse_loss=F.mse_loss,
    )
    assert "L1Loss value" in failure


def test_reg1_catches_mse_backward_without_the_factor_2():
    failure = spec_failure(
        reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error,
        **CPU64,
        reduction="none",
        l1_loss=F.l1_loss,
        mse_loss=manual_mse(backward_factor=1.0),
    )
    assert "MSELoss gradient" in failure


# --------------------------------------------------------------------------------------------
# REG-2


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reg2_accepts_the_manual_smooth_l1_and_huber_without_bugs(reduction):
    reg_specs.test_reg2_smooth_l1_and_huber_match_piecewise_definitions(
        **CPU64,
        reduction=reduction,
        smooth_l1_loss=manual_smooth_l1(),
        huber_loss=manual_huber(),
    )


def test_reg2_continuity_accepts_the_manual_smooth_l1_and_huber_without_bugs():
    reg_specs.test_reg2_continuous_with_continuous_slope_at_beta(
        **CPU64, smooth_l1_loss=manual_smooth_l1(), huber_loss=manual_huber()
    )


def test_reg2_definition_catches_smooth_l1_without_1_over_beta():
    failure = spec_failure(
        reg_specs.test_reg2_smooth_l1_and_huber_match_piecewise_definitions,
        **CPU64,
        reduction="none",
        smooth_l1_loss=manual_smooth_l1(forget_beta=True),
        huber_loss=F.huber_loss,
    )
    assert "SmoothL1Loss" in failure


def test_reg2_continuity_catches_huber_without_delta():
    failure = spec_failure(
        reg_specs.test_reg2_continuous_with_continuous_slope_at_beta,
        **CPU64,
        smooth_l1_loss=F.smooth_l1_loss,
        huber_loss=manual_huber(forget_delta=True),
    )
    assert "HuberLoss" in failure


def test_reg2_half_mse_spec_cannot_see_a_missing_1_over_beta_at_beta_1():
    """The factor spec runs at β = 1, where forgetting 1/β changes nothing: it passes.

    The other REG-2 specs draw β over orders of magnitude and catch that bug.
    """
    reg_specs.test_reg2_inside_unit_interval_smooth_l1_is_half_mse(
        **CPU64, smooth_l1_loss=manual_smooth_l1(forget_beta=True)
    )


# --------------------------------------------------------------------------------------------
# REG-3


def test_reg3_accepts_the_manual_smooth_l1_without_bugs():
    reg_specs.test_reg3_smooth_l1_gradient_bounded_mse_gradient_linear(
        **CPU64, smooth_l1_loss=manual_smooth_l1(), mse_loss=manual_mse()
    )


def test_reg3_catches_smooth_l1_mixed_up_with_huber():
    failure = spec_failure(
        reg_specs.test_reg3_smooth_l1_gradient_bounded_mse_gradient_linear,
        **CPU64,
        smooth_l1_loss=smooth_l1_as_huber,
        mse_loss=F.mse_loss,
    )
    assert "SmoothL1Loss(beta=" in failure and "gradient" in failure


# --------------------------------------------------------------------------------------------
# MISC-1

MISC1 = {**CPU64, "nll_loss": F.nll_loss}


def test_misc1_accepts_the_planted_adaptive_softmax_without_bugs():
    other_specs.test_misc1_adaptive_softmax_loss_is_nll_of_its_log_prob(
        **MISC1, adaptive_log_softmax=planted_adaptive()
    )


def test_misc1_catches_loss_summed_instead_of_averaged():
    failure = spec_failure(
        other_specs.test_misc1_adaptive_softmax_loss_is_nll_of_its_log_prob,
        **MISC1,
        adaptive_log_softmax=planted_adaptive(loss_sum=True),
    )
    assert ".loss against NLLLoss(log_prob, y), mean" in failure


# --------------------------------------------------------------------------------------------
# MISC-2


def test_misc2_accepts_the_keras_port_without_the_swap():
    other_specs.test_misc2_swapping_bce_arguments_changes_the_loss(
        **CPU64, binary_cross_entropy=keras_order_bce()
    )
    other_specs.test_misc2_swapped_bce_example(**CPU64, binary_cross_entropy=keras_order_bce())


def test_misc2_catches_swapped_bce_arguments():
    """The Keras-order port fails the counterexample spec at once.

    (The property spec fails on it too, on its first example; it is not run here, where
    hypothesis' shrinking of the failure would cost seconds of the suite's budget.)
    """
    failure = spec_failure(
        other_specs.test_misc2_swapped_bce_example,
        **CPU64,
        binary_cross_entropy=keras_order_bce(swap=True),
    )
    assert "BCE(0.8, 1)" in failure


def test_misc2_swapped_mse_and_l1_are_invisible():
    """The same swap on MSE and L1 passes REG-1's spec: symmetric losses do not see it."""

    def swapped(loss):
        return lambda input, target, reduction="mean": loss(target, input, reduction=reduction)

    reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error(
        **CPU64, reduction="mean", l1_loss=swapped(F.l1_loss), mse_loss=swapped(F.mse_loss)
    )


# --------------------------------------------------------------------------------------------
# The regression oracles themselves (NumPy only; these could move to tests/test_oracles.py).


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
