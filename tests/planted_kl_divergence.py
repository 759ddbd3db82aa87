"""Hand-written KL divergence implementations (KL-1 … KL-5) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_kl_divergence.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from verify.stand_ins import reduce_loss


def kl_div_batchmean_as_mean(log_input, target, reduction="mean", log_target=False):
    """A KL whose 'batchmean' divides by every element (N·C) instead of the batch size."""
    pointwise = target * (torch.log(target.clamp_min(1e-45)) - log_input)
    pointwise = torch.where(target > 0, pointwise, torch.zeros_like(pointwise))
    if reduction in ("mean", "batchmean"):
        return pointwise.sum() / pointwise.numel()
    return pointwise.sum() if reduction == "sum" else pointwise


def naive_kl_div(log_input, target, reduction="mean", log_target=False):
    """KL written as t·(log t − a): 0·(−inf) = NaN wherever the target is zero (one-hot!)."""
    pointwise = target * (torch.log(target) - log_input)
    return _reduce(pointwise, reduction, log_input.shape[0])


def _reduce(pointwise, reduction, batch_size):
    if reduction == "batchmean":
        return pointwise.sum() / batch_size
    return reduce_loss(pointwise, reduction)


def manual_kl_div(
    *,
    swapped: bool = False,
    no_xlogy: bool = False,
    negated: bool = False,
    cross_entropy_only: bool = False,
    log_target_as_probabilities: bool = False,
    zero_safe: bool = False,
):
    """``F.kl_div`` written out: t·(log t − a), or exp(s)·(s − a) with ``log_target``.

    Bugs: ``swapped`` computes KL(Q‖P) = Σ q·(log q − log t); ``no_xlogy`` writes t·log t
    literally (0·(−inf) = NaN at t = 0); ``negated`` returns Σ t·(a − log t), log(q/p)
    written for log(p/q); ``cross_entropy_only`` drops the
    target's Σ t log t (it is CE, not KL); ``log_target_as_probabilities`` ignores
    ``log_target``. ``zero_safe`` is not a bug but a change from PyTorch: terms with t = 0
    are 0 whatever the input, as in mathematics, instead of NaN.
    """

    def kl_div(log_input, target, reduction="mean", log_target=False):
        t = target
        if log_target and not log_target_as_probabilities:
            t = target.exp()
            pointwise = t * (target - log_input)
        elif swapped:
            pointwise = log_input.exp() * (log_input - torch.log(t))
        elif cross_entropy_only:
            pointwise = -t * log_input
        elif no_xlogy:
            pointwise = t * (torch.log(t) - log_input)
        else:
            pointwise = torch.special.xlogy(t, t) - t * log_input
        if zero_safe:
            pointwise = torch.where(t == 0, torch.zeros_like(pointwise), pointwise)
        if negated:
            pointwise = -pointwise
        return _reduce(pointwise, reduction, log_input.shape[0])

    return kl_div


def manual_cross_entropy(*, smoothing_over_other_classes: bool = False):
    """Cross-entropy −Σ t·log_softmax(x) with probability targets, or class indices with
    label smoothing t = (1 − ε)·onehot + ε/C. Bug ``smoothing_over_other_classes`` spreads ε
    over the C − 1 other classes instead (a variant some code bases use)."""

    def cross_entropy(x, target, reduction="mean", label_smoothing=0.0):
        n_classes = x.shape[1]
        if target.is_floating_point():
            t = target
        else:
            one_hot = F.one_hot(target, n_classes).to(x.dtype)
            if smoothing_over_other_classes:
                rest = label_smoothing / (n_classes - 1) * (1 - one_hot)
                t = (1 - label_smoothing) * one_hot + rest
            else:
                t = (1 - label_smoothing) * one_hot + label_smoothing / n_classes
        losses = -(t * F.log_softmax(x, dim=1)).sum(dim=1)
        return reduce_loss(losses, reduction)

    return cross_entropy


def manual_log_softmax(x, dim=1):
    """log_softmax(x) = x − max − log Σ exp(x − max)."""
    shifted = x - x.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))
