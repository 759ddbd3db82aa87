"""timm's classification losses (``timm.loss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

from verify.adapters import decline, require_class_scores
from verify.adapters.signatures import BCEParams, bce_with_logits


def label_smoothing_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """``cross_entropy`` contract ('mean' only): ``LabelSmoothingCrossEntropy(smoothing=ε)``,
    with the contract's default ε = 0 (timm's is 0.1). timm takes (N, C) scores and class
    indices; it asserts ε < 1, and that assertion is its answer for ε = 1."""
    require_class_scores("timm LabelSmoothingCrossEntropy", input, target)
    return LabelSmoothingCrossEntropy(smoothing=label_smoothing)(input, target)


def soft_target_cross_entropy(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``cross_entropy`` contract ('mean' only): ``SoftTargetCrossEntropy`` on (N, C) scores.
    It takes class probabilities; class indices are given as their one-hot rows, which the
    contract defines to give the same loss."""
    if input.dim() != 2:
        raise decline("timm SoftTargetCrossEntropy", f"{input.dim()}-dimensional scores")
    if not target.is_floating_point():
        target = F.one_hot(target, input.shape[1]).to(input.dtype)
    return SoftTargetCrossEntropy()(input, target)


@bce_with_logits
def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor, p: BCEParams) -> torch.Tensor:
    """``binary_cross_entropy_with_logits`` contract: ``BinaryCrossEntropy(smoothing=0)`` (timm's
    default 0.1 smooths only class-index targets, which this contract does not have)."""
    loss = BinaryCrossEntropy(
        smoothing=0.0, weight=p.weight, pos_weight=p.pos_weight, reduction=p.reduction
    )
    return loss(input, target)
