"""Binary cross-entropy that clamps the probabilities to [1e-7, 1 − 1e-7] "for stability"."""

import torch.nn.functional as F


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    return F.binary_cross_entropy(
        input.clamp(1e-7, 1 - 1e-7), target, weight=weight, reduction=reduction
    )
