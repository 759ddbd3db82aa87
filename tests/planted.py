"""Realistic buggy implementations, planted to show that each spec can fail.

Each factory builds a hand-written implementation from torch primitives; with no bug
switched on it computes the right thing (the controls in ``test_planted_bugs`` show the spec
accepts it), and each switch plants one bug seen in real code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def manual_cross_entropy(
    *, naive_logsumexp: bool = False, mean_over_count: bool = False, count_ignored: bool = False
):
    """Cross-entropy over class indices with weight, ignore_index, reduction and K-dim inputs.

    Bugs: ``naive_logsumexp`` computes log Σ exp(x) without subtracting the max (overflows);
    ``mean_over_count`` divides the weighted sum by the number of targets instead of their
    summed weight; ``count_ignored`` keeps ignored positions in the mean's denominator.
    """

    def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean"):
        x = x.movedim(1, -1)
        if naive_logsumexp:
            lse = torch.log(torch.exp(x).sum(-1))
        else:
            top = x.amax(-1, keepdim=True).detach()
            lse = torch.log(torch.exp(x - top).sum(-1)) + top.squeeze(-1)
        kept = target != ignore_index
        safe = torch.where(kept, target, torch.zeros_like(target))
        picked = x.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
        w = torch.ones(x.shape[-1], dtype=x.dtype, device=x.device) if weight is None else weight
        w_target = w[safe] * kept
        # torch.where, not a multiplication by the mask: an all-ignored 'mean' is 0/0 and its
        # infinite upstream gradient must not reach the ignored positions as inf·0 = NaN.
        losses = torch.where(kept, (lse - picked) * w[safe], torch.zeros_like(lse))
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        if mean_over_count:
            return losses.sum() / kept.sum()
        if count_ignored:
            return losses.sum() / w[safe].sum()
        return losses.sum() / w_target.sum()

    return cross_entropy


def naive_log_softmax(x, dim):
    """log(softmax(x)): underflows to −inf once a logit gap passes ~745 in float64."""
    return torch.log(torch.softmax(x, dim))


def manual_bce_with_logits(*, naive_sigmoid: bool = False):
    """BCE on logits. Bug ``naive_sigmoid``: log σ(x) and log(1 − σ(x)) taken literally."""

    def bce_with_logits(x, target, reduction="mean"):
        if naive_sigmoid:
            p = torch.sigmoid(x)
            losses = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
        else:
            losses = -(target * F.logsigmoid(x) + (1 - target) * F.logsigmoid(-x))
        return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]

    return bce_with_logits


def clamped_bce(eps: float):
    """BCE on probabilities clamped to [eps, 1 − eps] first, a common "stability" fix."""

    def bce(p, target, reduction="mean"):
        return F.binary_cross_entropy(p.clamp(eps, 1 - eps), target, reduction=reduction)

    return bce


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
    if reduction == "batchmean":
        return pointwise.sum() / log_input.shape[0]
    return {"none": pointwise, "sum": pointwise.sum(), "mean": pointwise.mean()}[reduction]


def planted_sgd(*, decay_factor: float = 1.0, decoupled: bool = False):
    """An SGD optimizer class written from the documented algorithm, with one bug switchable.

    ``decay_factor=2`` adds 2λw (the gradient of λ‖w‖², forgetting the 1/2 convention);
    ``decoupled`` shrinks w by (1 − lr·λ) outside the momentum buffer (AdamW-style), which
    matches plain SGD but not momentum.
    """

    class PlantedSGD(torch.optim.Optimizer):
        def __init__(
            self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False
        ):
            defaults = {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
            }
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
                lam = group["weight_decay"]
                for w in group["params"]:
                    g = w.grad.clone()
                    if decoupled:
                        w.mul_(1 - lr * lam)
                    else:
                        g.add_(w, alpha=decay_factor * lam)
                    if mu:
                        state = self.state[w]
                        if "buffer" not in state:
                            state["buffer"] = g.clone()
                        else:
                            state["buffer"].mul_(mu).add_(g, alpha=1 - tau)
                        g = (
                            g.add(state["buffer"], alpha=mu)
                            if group["nesterov"]
                            else state["buffer"]
                        )
                    w.add_(g, alpha=-lr)

    return PlantedSGD
