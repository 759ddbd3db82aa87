"""Hand-written other losses implementations (MISC-1, MISC-2) with switchable realistic bugs; with
no switch on each computes the right thing (``tests/test_planted_other_losses.py``).
"""

from __future__ import annotations

from collections import namedtuple

import torch.nn.functional as F
from torch import nn

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
