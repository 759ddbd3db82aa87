"""The other losses specs (MISC-1, MISC-2, ``specs/test_other_losses.py``) fail on the planted bugs
of ``tests/planted_other_losses.py`` and pass the same code with the bug off
(``tests.planting``).
"""

from __future__ import annotations

from functools import partial

import torch.nn.functional as F

from specs import test_other_losses as misc_specs
from specs import test_regression as reg_specs
from tests import planted_other_losses as planted
from tests.planting import CPU64, planted_bug_test

MISC1 = partial(
    misc_specs.test_misc1_adaptive_softmax_loss_is_nll_of_its_log_prob, **CPU64, nll_loss=F.nll_loss
)
MISC2_EXAMPLE = partial(misc_specs.test_misc2_swapped_bce_example, **CPU64)


def test_misc1_accepts_the_planted_adaptive_softmax_without_bugs():
    MISC1(adaptive_log_softmax=planted.planted_adaptive())


def test_misc2_accepts_the_keras_port_without_the_swap():
    misc_specs.test_misc2_swapping_bce_arguments_changes_the_loss(
        **CPU64, binary_cross_entropy=planted.keras_order_bce()
    )
    MISC2_EXAMPLE(binary_cross_entropy=planted.keras_order_bce())


def test_misc2_swapped_mse_and_l1_are_invisible():
    """The same swap on MSE and L1 passes REG-1's spec: symmetric losses do not see it."""

    def swapped(loss):
        return lambda input, target, reduction="mean": loss(target, input, reduction=reduction)

    reg_specs.test_reg1_l1_and_mse_are_mean_absolute_and_squared_error(
        **CPU64, reduction="mean", l1_loss=swapped(F.l1_loss), mse_loss=swapped(F.mse_loss)
    )


# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names)
PLANTED_BUGS = {
    "misc1-loss-summed-instead-of-averaged": (
        MISC1,
        {"adaptive_log_softmax": planted.planted_adaptive(loss_sum=True)},
        ".loss against NLLLoss(log_prob, y), mean",
    ),
    # The Keras-order port fails the counterexample spec at once. (The property spec fails on
    # it too, on its first example; it is not run here, where hypothesis' shrinking of the
    # failure would cost seconds of the suite's budget.)
    "misc2-swapped-bce-arguments": (
        MISC2_EXAMPLE,
        {"binary_cross_entropy": planted.keras_order_bce(swap=True)},
        "BCE(0.8, 1)",
    ),
}


test_misc_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)
