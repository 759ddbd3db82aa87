"""KL divergence whose 'batchmean' divides by the number of elements (N·C), not by N."""

import torch


def kl_div(input, target, reduction="mean", log_target=False):
    if log_target:
        target = target.exp()
    pointwise = torch.xlogy(target, target) - target * input
    if reduction in ("mean", "batchmean"):
        return pointwise.mean()
    return pointwise.sum() if reduction == "sum" else pointwise
