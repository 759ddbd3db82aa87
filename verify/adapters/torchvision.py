"""torchvision's ``sigmoid_focal_loss`` (``torchvision.ops``), the contract's own signature."""

from __future__ import annotations

import torch
from torchvision.ops import sigmoid_focal_loss as _sigmoid_focal_loss

from verify.adapters.signatures import FocalParams, sigmoid_focal


@sigmoid_focal
def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, p: FocalParams) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract: torchvision already takes α < 0 as "no α"."""
    return _sigmoid_focal_loss(input, target, alpha=p.alpha, gamma=p.gamma, reduction=p.reduction)
