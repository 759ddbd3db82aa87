"""torchvision's ``sigmoid_focal_loss`` (``torchvision.ops``), the contract's own signature."""

from __future__ import annotations

import torch
from torchvision.ops import sigmoid_focal_loss as _sigmoid_focal_loss


def sigmoid_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract: torchvision already takes α < 0 as "no α"."""
    return _sigmoid_focal_loss(input, target, alpha=alpha, gamma=gamma, reduction=reduction)
