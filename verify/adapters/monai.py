"""MONAI's ``FocalLoss`` (``monai.losses``), sigmoid and softmax."""

from __future__ import annotations

import torch
from monai.losses import FocalLoss

from verify.adapters.signatures import FocalParams, sigmoid_focal


@sigmoid_focal
def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, p: FocalParams) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract: ``FocalLoss(use_softmax=False)`` on (N, C) logits and
    targets of the same shape; α < 0 is MONAI's ``alpha=None``."""
    loss = FocalLoss(gamma=p.gamma, alpha=p.optional_alpha, reduction=p.reduction)
    return loss(input, target)


def softmax_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """``softmax_focal_loss`` contract: ``FocalLoss(use_softmax=True, to_onehot_y=True)``, the
    class indices given as MONAI's (N, 1, ...) label map. The per-class α (C,) is MONAI's
    sequence ``alpha``. ``ignore_index`` is passed only when the caller gives it: MONAI's
    default is ``None`` and passing it switches on a masked 'mean'."""
    options = {} if ignore_index is None else {"ignore_index": ignore_index}
    loss = FocalLoss(
        to_onehot_y=True,
        use_softmax=True,
        gamma=gamma,
        alpha=alpha,
        reduction=reduction,
        **options,
    )
    return loss(input, target.unsqueeze(1))
