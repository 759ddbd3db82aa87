"""segmentation-models-pytorch's losses (``segmentation_models_pytorch.losses``)."""

from __future__ import annotations

import torch
from segmentation_models_pytorch.losses import (
    FocalLoss,
    SoftBCEWithLogitsLoss,
    SoftCrossEntropyLoss,
)

from verify.adapters import decline
from verify.adapters.signatures import BCEParams, FocalParams, bce_with_logits, sigmoid_focal


@sigmoid_focal
def focal_loss(input: torch.Tensor, target: torch.Tensor, p: FocalParams) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract: ``FocalLoss(mode='binary')``, every element an
    independent logit; α < 0 is smp's ``alpha=None``."""
    loss = FocalLoss("binary", alpha=p.optional_alpha, gamma=p.gamma, reduction=p.reduction)
    return loss(input, target)


@bce_with_logits
def soft_bce_with_logits_loss(
    input: torch.Tensor, target: torch.Tensor, p: BCEParams
) -> torch.Tensor:
    """``binary_cross_entropy_with_logits`` contract: ``SoftBCEWithLogitsLoss`` (its
    ``smooth_factor`` off, its ``ignore_index`` -100 never met by targets in [0, 1])."""
    loss = SoftBCEWithLogitsLoss(weight=p.weight, pos_weight=p.pos_weight, reduction=p.reduction)
    return loss(input, target)


def soft_cross_entropy_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """``cross_entropy`` contract: ``SoftCrossEntropyLoss(smooth_factor=ε, dim=1)``; it takes
    class indices only (despite its name)."""
    if target.is_floating_point():
        raise decline("smp SoftCrossEntropyLoss", "class-probability targets")
    loss = SoftCrossEntropyLoss(
        reduction=reduction, smooth_factor=label_smoothing, ignore_index=ignore_index, dim=1
    )
    return loss(input, target)
