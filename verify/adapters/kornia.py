"""kornia's focal losses (``kornia.losses``)."""

from __future__ import annotations

import torch
from kornia import losses

from verify.adapters.signatures import FocalParams, sigmoid_focal


@sigmoid_focal
def binary_focal_loss_with_logits(
    input: torch.Tensor, target: torch.Tensor, p: FocalParams
) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract; α < 0 is kornia's ``alpha=None``. kornia's ``weight``,
    ``pos_weight`` and ``ignore_index`` have no counterpart in the contract and stay default."""
    return losses.binary_focal_loss_with_logits(
        input, target, alpha=p.optional_alpha, gamma=p.gamma, reduction=p.reduction
    )


def focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """``softmax_focal_loss`` contract. The contract's per-class α (C,) is kornia's ``weight``
    (C,); kornia's own scalar ``alpha`` (1 − α for class 0, α for the others) has no
    counterpart and is ``None`` (every class weighted 1). kornia's default reduction is
    'none'; the contract's is 'mean', which is passed explicitly."""
    return losses.focal_loss(
        input,
        target,
        alpha=None,
        gamma=gamma,
        reduction=reduction,
        weight=alpha,
        ignore_index=ignore_index,
    )
