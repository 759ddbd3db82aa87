"""Hand-written focal loss implementations (FL-1 … FL-7) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_focal_loss.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from verify.stand_ins import reduce_loss


def planted_sigmoid_focal(*, swap_alpha=False, gamma_on_pt=False, shift=0.0):
    """torchvision-style sigmoid focal loss. Bugs: ``swap_alpha`` gives α to the negatives
    (α_t = (1 − α)·y + α·(1 − y)); ``gamma_on_pt`` modulates by p_t^γ instead of (1 − p_t)^γ;
    ``shift`` = 1e-6 is YOLOv5's commented-out "(1.000001 − p_t)^γ, non-zero power for
    gradient stability", whose factor exceeds 1 for hard examples (p_t < 1e-6)."""

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((p_t if gamma_on_pt else (1.0 + shift) - p_t) ** gamma)
        if alpha >= 0:
            a = 1 - alpha if swap_alpha else alpha
            loss = (a * targets + (1 - a) * (1 - targets)) * loss
        return reduce_loss(loss, reduction)

    return sigmoid_focal_loss


def planted_wrapped_focal(*, force_none=True, swap_alpha=False):
    """The FocalLoss wrapping BCEWithLogitsLoss. Bugs: ``force_none=False`` forgets to set the
    wrapped loss's reduction to 'none', so the modulating factor multiplies the already-reduced
    BCE; ``swap_alpha`` puts α on the negatives."""

    class PlantedFocalLoss(nn.Module):
        def __init__(self, loss_fcn, gamma=1.5, alpha=0.25):
            super().__init__()
            self.loss_fcn, self.gamma, self.alpha = loss_fcn, gamma, alpha
            self.reduction = loss_fcn.reduction
            if force_none:
                self.loss_fcn.reduction = "none"

        def forward(self, pred, true):
            loss = self.loss_fcn(pred, true)
            prob = torch.sigmoid(pred)
            p_t = true * prob + (1 - true) * (1 - prob)
            a = 1 - self.alpha if swap_alpha else self.alpha
            loss = loss * (true * a + (1 - true) * (1 - a)) * (1.0 - p_t) ** self.gamma
            if self.reduction == "mean":
                return loss.mean()
            return loss.sum() if self.reduction == "sum" else loss

    def wrapped(inputs, targets, alpha=0.25, gamma=1.5, reduction="mean"):
        return PlantedFocalLoss(nn.BCEWithLogitsLoss(reduction=reduction), gamma, alpha)(
            inputs, targets
        )

    return wrapped


def planted_logsigmoid_focal(*, sign_slip=False, literal_log=False):
    """The logsigmoid focal loss (no α). Bugs: ``sign_slip`` writes log σ(−x) as log σ(x) + x
    (the identity is log σ(x) − x); ``literal_log`` takes log(sigmoid(x)), log(1 − sigmoid(x))."""

    def logsigmoid_focal_loss(inputs, targets, gamma=2.0, reduction="mean"):
        p = torch.sigmoid(inputs)
        if literal_log:
            log_p, log_not_p = torch.log(p), torch.log(1 - p)
        else:
            log_p = F.logsigmoid(inputs)
            log_not_p = log_p + inputs if sign_slip else F.logsigmoid(-inputs)
        ce = -(targets * log_p + (1 - targets) * log_not_p)
        return reduce_loss(ce * (targets - p).abs() ** gamma, reduction)

    return logsigmoid_focal_loss


def planted_probability_focal(*, gamma_on_pt=False):
    """Focal loss on probabilities. Bug ``gamma_on_pt``: p_t^γ instead of (1 − p_t)^γ."""

    def probability_focal_loss(p, targets, alpha=0.25, gamma=2.0, reduction="mean"):
        bce = F.binary_cross_entropy(p, targets, reduction="none")
        p_t = targets * p + (1 - targets) * (1 - p)
        factor = targets * alpha + (1 - targets) * (1 - alpha)
        return reduce_loss(factor * (p_t if gamma_on_pt else 1 - p_t) ** gamma * bce, reduction)

    return probability_focal_loss


def planted_softmax_focal(*, mean_over_all=False, gamma_on_pt=False):
    """Softmax focal loss as NLL(reduction='none') of (1 − p)^γ·log p, reduced by hand. Bugs:
    ``mean_over_all`` takes ``.mean()`` over every position (ignored ones, which NLL zeroes,
    stay in the denominator, and class weights are not normalized); ``gamma_on_pt`` modulates
    by p^γ."""

    def softmax_focal_loss(x, target, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"):
        log_p = F.log_softmax(x, dim=1)
        p = log_p.exp()
        modulated = (p if gamma_on_pt else 1 - p) ** gamma * log_p
        loss = F.nll_loss(
            modulated, target, weight=alpha, ignore_index=ignore_index, reduction="none"
        )
        if reduction != "mean":
            return reduce_loss(loss, reduction)
        if mean_over_all:
            return loss.mean()
        kept = target != ignore_index
        w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if alpha is None else alpha
        return loss.sum() / (w[torch.where(kept, target, 0)] * kept).sum()

    return softmax_focal_loss


def planted_pt_shortcut(criterion_pos_weight: float):
    """p_t = exp(−loss) from a BCEWithLogitsLoss criterion built with its own pos_weight (as
    YOLOv5 builds BCEcls), which ignores the pos_weight it is called with."""

    def pt_shortcut(inputs, targets, pos_weight=None):
        weight = torch.full(inputs.shape[-1:], criterion_pos_weight, dtype=inputs.dtype)
        criterion = nn.BCEWithLogitsLoss(pos_weight=weight.to(inputs.device), reduction="none")
        return torch.exp(-criterion(inputs, targets))

    return pt_shortcut
