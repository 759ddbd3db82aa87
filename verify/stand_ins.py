"""Stand-ins for the third-party loss implementations the specs exercise, written here.

torch has no focal or symmetric cross-entropy loss; the claims are about forms that code
bases copy from one another. Each function below is written from the published description
of such a form (named in its docstring); the specs run them as the implementations under
claim (``--impl`` replaces them), and the planted-bug tests plant bugs in copies of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCE_EPS = 1e-4  # the clamp of the one-hot label in SCELoss's reverse cross-entropy


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """The 'none', 'mean' or 'sum' reduction of elementwise or per-sample losses."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# --- focal losses (FL-*) ----------------------------------------------------------------------


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """``torchvision.ops.sigmoid_focal_loss`` (torchvision/ops/focal_loss.py), from its source.

    ce = BCEWithLogits(x, y); p_t = p·y + (1 − p)(1 − y); loss = ce·(1 − p_t)^γ, times
    α_t = α·y + (1 − α)(1 − y) when α ≥ 0 (α < 0 disables it), then the reduction.
    """
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return reduce_loss(loss, reduction)


class FocalLoss(nn.Module):
    """The focal loss that wraps ``nn.BCEWithLogitsLoss`` (ultralytics/yolov5 utils/loss.py,
    after the TensorFlow Addons focal loss), copied into many detection code bases.

    It forces the wrapped loss's reduction to 'none', multiplies each element by the alpha
    factor y·α + (1 − y)(1 − α) and (1 − p_t)^γ, then applies the wrapped loss's reduction.
    """

    def __init__(self, loss_fcn: nn.BCEWithLogitsLoss, gamma: float = 1.5, alpha: float = 0.25):
        super().__init__()
        self.loss_fcn, self.gamma, self.alpha = loss_fcn, gamma, alpha
        self.reduction = loss_fcn.reduction
        self.loss_fcn.reduction = "none"  # required to apply FL to each element

    def forward(self, pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fcn(pred, true)
        pred_prob = torch.sigmoid(pred)
        p_t = true * pred_prob + (1 - true) * (1 - pred_prob)
        alpha_factor = true * self.alpha + (1 - true) * (1 - self.alpha)
        modulating_factor = (1.0 - p_t) ** self.gamma
        loss *= alpha_factor * modulating_factor
        return reduce_loss(loss, self.reduction)


def focal_loss_wrapping_bce(inputs, targets, alpha=0.25, gamma=1.5, reduction="mean"):
    """``FocalLoss(nn.BCEWithLogitsLoss(reduction=...), gamma, alpha)`` as fn(input, target)."""
    return FocalLoss(nn.BCEWithLogitsLoss(reduction=reduction), gamma, alpha)(inputs, targets)


def logsigmoid_focal_loss(inputs, targets, gamma=2.0, reduction="mean"):
    """Focal loss from log σ(x) and log σ(−x) with modulating factor |y − σ(x)|^γ and no α, as
    claims.md's FL-5 writes it (a stable rewrite of the literal −(1 − p)^γ·log p)."""
    ce = -(targets * F.logsigmoid(inputs) + (1 - targets) * F.logsigmoid(-inputs))
    return reduce_loss(ce * (targets - torch.sigmoid(inputs)).abs() ** gamma, reduction)


def log_of_sigmoid_focal_loss(inputs, targets, gamma=2.0, reduction="mean"):
    """The same loss written with log(sigmoid(x)) and log(1 − sigmoid(x)) literally."""
    p = torch.sigmoid(inputs)
    ce = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))
    return reduce_loss(ce * (targets - p).abs() ** gamma, reduction)


def probability_focal_loss(p, targets, alpha=0.25, gamma=2.0, reduction="mean"):
    """Focal loss on probabilities (the FL-3 form): alpha_factor·(1 − p_t)^γ·BCE(p, y)."""
    bce = F.binary_cross_entropy(p, targets, reduction="none")
    p_t = targets * p + (1 - targets) * (1 - p)
    alpha_factor = targets * alpha + (1 - targets) * (1 - alpha)
    return reduce_loss(alpha_factor * (1 - p_t) ** gamma * bce, reduction)


def nll_softmax_focal_loss(x, target, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"):
    """Multi-class focal loss as NLL of (1 − softmax)^γ·log_softmax (a widely copied form):
    ``F.nll_loss((1 − p)**γ * log p, y, weight=α, ignore_index, reduction)``."""
    log_p = F.log_softmax(x, dim=1)
    modulated = (1 - log_p.exp()) ** gamma * log_p
    return F.nll_loss(
        modulated, target, weight=alpha, ignore_index=ignore_index, reduction=reduction
    )


def gathered_softmax_focal_loss(
    x, target, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"
):
    """mean(−α_y(1 − p_t)^γ log p_t) with p_t gathered at the target (the form of
    clcarwin/focal_loss_pytorch), with NLL's masking and weighted-mean denominator."""
    log_p = F.log_softmax(x, dim=1)
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    log_pt = log_p.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if alpha is None else alpha
    w_t = w[safe] * kept
    loss = torch.where(kept, -w_t * (1 - log_pt.exp()) ** gamma * log_pt, torch.zeros_like(log_pt))
    if reduction == "mean":
        return loss.sum() / w_t.sum()
    return reduce_loss(loss, reduction)


def bce_shortcut_pt(inputs, targets, pos_weight=None):
    """p_t = exp(−BCEWithLogits(x, y)) elementwise, the shortcut many focal losses take."""
    ce = F.binary_cross_entropy_with_logits(
        inputs, targets, pos_weight=pos_weight, reduction="none"
    )
    return torch.exp(-ce)


def explicit_pt(inputs, targets):
    """p_t = y·σ(x) + (1 − y)·(1 − σ(x)), as torchvision writes it."""
    p = torch.sigmoid(inputs)
    return p * targets + (1 - p) * (1 - targets)


# --- symmetric cross-entropy (SCE-*) ----------------------------------------------------------


def clamped_binary_cross_entropy(a, b, eps=SCE_EPS, reduction="none"):
    """ce(a, b) = −ā·log b̄ − (1 − ā)·log(1 − b̄), both clamped to [eps, 1 − eps] (SCE-1)."""
    a, b = a.clamp(eps, 1 - eps), b.clamp(eps, 1 - eps)
    return reduce_loss(-(a * torch.log(b) + (1 - a) * torch.log(1 - b)), reduction)


def reverse_cross_entropy(x, target, eps=SCE_EPS, reduction="mean"):
    """RCE = −Σ_c softmax(x)_c·log clamp(onehot(y), eps, 1)_c (SCELoss-Reproduce's RCE term)."""
    p = F.softmax(x, dim=1)
    label = F.one_hot(target, x.shape[1]).to(x.dtype).clamp(eps, 1.0)
    return reduce_loss(-(p * torch.log(label)).sum(dim=1), reduction)


def symmetric_cross_entropy(x, target, a=1.0, b=1.0, eps=SCE_EPS, reduction="mean"):
    """SCE = a·CE + b·RCE per sample, then the reduction (SCELoss, Wang et al. 2019)."""
    ce = F.cross_entropy(x, target, reduction="none")
    return reduce_loss(a * ce + b * reverse_cross_entropy(x, target, eps, "none"), reduction)


def reproduce_reverse_cross_entropy(x, target, eps=SCE_EPS, reduction="mean"):
    """RCE as HanxunH/SCELoss-Reproduce (loss.py) computes it: softmax clamped to [1e-7, 1]."""
    p = F.softmax(x, dim=1).clamp(1e-7, 1.0)
    label = F.one_hot(target, x.shape[1]).to(x.dtype).clamp(eps, 1.0)
    return reduce_loss(-(p * torch.log(label)).sum(dim=1), reduction)
