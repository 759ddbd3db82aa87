"""Realistic buggy binary cross-entropy implementations, planted to show each BCE spec can fail.

Each factory builds a hand-written implementation from torch primitives; with no bug switched
on it computes the right thing (the controls in ``test_planted_binary_cross_entropy`` show the
specs accept it), and each switch plants one bug seen in real code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from verify.stand_ins import reduce_loss


def logsigmoid_bce_with_logits(*, naive_sigmoid: bool = False):
    """BCE on logits. Bug ``naive_sigmoid``: log σ(x) and log(1 − σ(x)) taken literally."""

    def bce_with_logits(x, target, reduction="mean"):
        if naive_sigmoid:
            p = torch.sigmoid(x)
            losses = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
        else:
            losses = -(target * F.logsigmoid(x) + (1 - target) * F.logsigmoid(-x))
        return reduce_loss(losses, reduction)

    return bce_with_logits


def clamped_bce(eps: float):
    """BCE on probabilities clamped to [eps, 1 − eps] first, a common "stability" fix."""

    def bce(p, target, reduction="mean"):
        return F.binary_cross_entropy(p.clamp(eps, 1 - eps), target, reduction=reduction)

    return bce


def manual_bce(
    *,
    eps_clamp: float | None = None,
    log_clamp: bool = True,
    mean_over_weight: bool = False,
    row_weighted_mean: bool = False,
    entropy: bool = False,
):
    """BCE on probabilities with a broadcast ``weight``, the three reductions, logs ≥ −100.

    Bugs: ``eps_clamp`` clamps p to [eps, 1 − eps] instead of clamping the logs (caps every
    element at −log eps: 16.1 for 1e-7); ``log_clamp=False`` drops the −100 clamp (inf at
    p ∈ {0, 1}); ``mean_over_weight`` divides the weighted sum by the summed weight, as
    CrossEntropyLoss does, instead of by the number of elements; ``row_weighted_mean`` takes a
    weighted mean over the classes of each row, then the plain mean over the batch;
    ``entropy`` passes the prediction as its own target (the binary entropy of p, which does
    vanish at both ends).
    """

    def bce(p, target, weight=None, reduction="mean"):
        if entropy:
            target = p.detach()
        if eps_clamp is not None:
            p = p.clamp(eps_clamp, 1 - eps_clamp)
        log_p, log_not_p = torch.log(p), torch.log(1 - p)
        if log_clamp:
            log_p, log_not_p = log_p.clamp_min(-100), log_not_p.clamp_min(-100)
        losses = -(target * log_p + (1 - target) * log_not_p)
        w = torch.ones_like(losses) if weight is None else weight.expand_as(losses)
        losses = losses * w
        if reduction == "mean" and mean_over_weight:
            return losses.sum() / w.sum()
        if reduction == "mean" and row_weighted_mean and losses.dim() > 1:
            rows = losses.flatten(1).sum(1) / w.flatten(1).sum(1)
            return rows.mean()
        return reduce_loss(losses, reduction)

    return bce


def manual_bce_with_logits(
    *,
    pos_weight_on: str = "positive",
    through_sigmoid: bool = False,
    sigmoid_twice: bool = False,
    takes_probabilities: bool = False,
    detects_probabilities: bool = False,
):
    """BCE on logits, −w·(pw·y·log σ(x) + (1 − y)·log σ(−x)), written with logsigmoid.

    ``pos_weight_on`` names the term pw scales. Bugs: ``pos_weight_on="negative"`` scales the
    negative term instead; ``"both"`` uses pw as a plain per-class weight; ``through_sigmoid``
    computes BCELoss(sigmoid(x)) (clamped at 100, as BCE-2 shows); ``sigmoid_twice`` applies
    the sigmoid to the input before the loss (the misuse BCE-9 describes);
    ``takes_probabilities`` treats its input as probabilities, as the refuted claim says it
    does; ``detects_probabilities`` skips the sigmoid when every input lies in [0, 1] (the
    auto-detection some metric libraries do on predictions), which makes the claim true.
    """

    def bce_with_logits(x, target, weight=None, pos_weight=None, reduction="mean"):
        if takes_probabilities or (detects_probabilities and x.min() >= 0 and x.max() <= 1):
            return F.binary_cross_entropy(x, target, weight=weight, reduction=reduction)
        if sigmoid_twice:
            x = torch.sigmoid(x)
        if through_sigmoid:
            p = torch.sigmoid(x)
            log_p = torch.log(p).clamp_min(-100)
            log_not_p = torch.log(1 - p).clamp_min(-100)
        else:
            log_p, log_not_p = F.logsigmoid(x), F.logsigmoid(-x)
        pw = torch.ones_like(x) if pos_weight is None else pos_weight.expand_as(x)
        positive, negative = target * log_p, (1 - target) * log_not_p
        if pos_weight_on == "negative":
            losses = -(positive + pw * negative)
        elif pos_weight_on == "both":
            losses = -pw * (positive + negative)
        else:
            losses = -(pw * positive + negative)
        if weight is not None:
            losses = losses * weight
        return reduce_loss(losses, reduction)

    return bce_with_logits


def tutorial_variant(*, eps: float = 1e-9, eps_in_positive_log_only: bool = False, clamp=None):
    """The tutorial's ε-BCE on logits, with the ways it is commonly varied.

    ``clamp`` clamps σ(x) to [clamp, 1 − clamp] instead of adding ε (caps at −log(clamp):
    16.1 for 1e-7, 15.9 in float32); ``eps_in_positive_log_only`` adds ε to log p only, so a
    wrong negative label gives log 0 = inf once σ(x) rounds to 1.
    """

    def bce(logits, target, reduction="mean"):
        p = torch.sigmoid(logits)
        if clamp is not None:
            p = p.clamp(clamp, 1 - clamp)
            losses = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
        elif eps_in_positive_log_only:
            losses = -(target * torch.log(p + eps) + (1 - target) * torch.log(1 - p))
        else:
            losses = -(target * torch.log(p + eps) + (1 - target) * torch.log(1 - p + eps))
        return reduce_loss(losses, reduction)

    return bce


class PassThroughBCELoss(nn.BCELoss):
    """A BCELoss subclass with its own forward, written correctly (the control)."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCELossIgnoringWeight(nn.BCELoss):
    """A BCELoss subclass whose forward forgets the ``weight`` it was built with."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLossIgnoringPosWeight(nn.BCEWithLogitsLoss):
    """A BCEWithLogitsLoss subclass whose forward drops ``pos_weight``."""

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction
        )


class CrossEntropyLossIgnoringLabelSmoothing(nn.CrossEntropyLoss):
    """A CrossEntropyLoss subclass whose forward drops ``label_smoothing``."""

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class KLDivLossIgnoringLogTarget(nn.KLDivLoss):
    """A KLDivLoss subclass whose forward drops ``log_target``."""

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction)


class HuberLossAsSmoothL1(nn.HuberLoss):
    """A HuberLoss written as SmoothL1Loss(beta=delta): off by the factor delta."""

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.delta)
