"""Hand-written symmetric cross-entropy implementations (SCE-1, SCE-2) with switchable realistic
bugs; with no switch on each computes the right thing
(``tests/test_planted_symmetric_cross_entropy.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from verify.stand_ins import reduce_loss


def planted_binary_ce(clamp: str = "both"):
    """ce(a, b) with the clamp to [1e-4, 1 − 1e-4] on ``clamp`` = 'both' arguments, only the
    'prediction' b (the usual BCE), or only the 'label' a (the wrong side)."""

    def binary_ce(a, b, eps=1e-4, reduction="none"):
        if clamp in ("both", "label"):
            a = a.clamp(eps, 1 - eps)
        if clamp in ("both", "prediction"):
            b = b.clamp(eps, 1 - eps)
        return reduce_loss(-(a * torch.log(b) + (1 - a) * torch.log(1 - b)), reduction)

    return binary_ce


def planted_rce(*, clamp_prediction=False):
    """RCE. Bug ``clamp_prediction``: the clamp lands on the softmax instead of the one-hot
    label, so log(onehot) = −inf meets a positive probability."""

    def rce(x, target, eps=1e-4, reduction="mean"):
        p = F.softmax(x, dim=1)
        label = F.one_hot(target, x.shape[1]).to(x.dtype)
        if clamp_prediction:
            p = p.clamp(eps, 1.0)
        else:
            label = label.clamp(eps, 1.0)
        return reduce_loss(-(p * torch.log(label)).sum(dim=1), reduction)

    return rce


def planted_sce(*, rce_batch_mean=False):
    """SCE = a·CE + b·RCE. Bug ``rce_batch_mean``: ``a * ce + b * rce.mean()`` with a per-sample
    CE (as some SCELoss copies write it), so every sample gets the batch's mean RCE."""

    def sce_loss(x, target, a=1.0, b=1.0, eps=1e-4, reduction="mean"):
        ce = F.cross_entropy(x, target, reduction="none")
        rce = planted_rce()(x, target, eps, reduction="none")
        return reduce_loss(a * ce + b * (rce.mean() if rce_batch_mean else rce), reduction)

    return sce_loss
