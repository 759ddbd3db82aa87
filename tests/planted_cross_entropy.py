"""Realistic buggy cross-entropy implementations, planted to show the CE-2 … CE-9 specs can fail.

``manual_cross_entropy`` is a hand-written ``F.cross_entropy`` (class indices or probability
targets, class weights, ignore_index, label smoothing, K-dimensional inputs, the three
reductions) built from torch primitives; with no bug switched on it computes the right thing
(the controls in ``test_planted_cross_entropy`` show the specs accept it), and each switch
plants one bug seen in real code. The other factories plant bugs in the softmax and in the
cross-entropy-on-probabilities of the CE-2 and CE-5 specs, and in the CE-3 NumPy tutorial.
"""

from __future__ import annotations

import numpy as np
import torch


def class_index_cross_entropy(
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


BUGS = (
    "naive_logsumexp",  # log Σ exp(x) without subtracting the row max: overflows
    "from_probabilities",  # Keras' from_logits=False: takes the input as probabilities
    "smoothing_over_others",  # label smoothing ε/(C − 1) on the other classes, none on the target
    "smoothing_excludes_target",  # ε/C on the other classes only: the target's ε/C is lost
    "weighted_mean_over_count",  # weighted 'mean' divided by the number of targets N
    "weighted_mean_over_weight_total",  # weighted 'mean' divided by Σ_c w_c
    "ignored_in_sum",  # ignored positions scored against a clamped target and summed
    "ignored_in_denominator",  # ignored positions counted in the mean's denominator
    "empty_mean_is_zero",  # 'mean' of no counted target returns 0 (a "safe" division)
    "soft_mean_over_elements",  # probability-target 'mean' divided by N·C (a .mean())
    "soft_mean_over_batch",  # probability-target 'mean' divided by N, not N·d1·…·dk
    "detached_smoothing",  # the label-smoothing term computed on log p.detach(): no gradient
)


def _log_probabilities(x: torch.Tensor, bug: dict[str, bool]) -> torch.Tensor:
    """log softmax along the last axis (or a planted wrong form of it)."""
    if bug["from_probabilities"]:
        p = x / x.sum(-1, keepdim=True)
        return torch.log(p.clamp(1e-7, 1.0 - 1e-7))
    if bug["naive_logsumexp"]:
        return x - torch.log(torch.exp(x).sum(-1, keepdim=True))
    top = x.amax(-1, keepdim=True).detach()
    return x - top - torch.log(torch.exp(x - top).sum(-1, keepdim=True))


def _reduce(losses, reduction, denominator, bug: dict[str, bool]):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if bug["empty_mean_is_zero"]:
        return losses.sum() / denominator.clamp_min(torch.finfo(losses.dtype).eps)
    return losses.sum() / denominator


def _soft_target_cross_entropy(x, log_p, target, w, eps, reduction, bug: dict[str, bool]):
    """Cross-entropy against probability targets (class axis at 1), label-smoothed by ε."""
    n_classes = x.shape[1]
    q = (1.0 - eps) * target.movedim(1, -1) + eps / n_classes
    losses = -(q * w * log_p).sum(-1)
    denominator = torch.tensor(float(losses.numel()), dtype=x.dtype, device=x.device)
    if bug["soft_mean_over_elements"]:
        denominator = denominator * n_classes
    if bug["soft_mean_over_batch"]:
        denominator = torch.tensor(float(x.shape[0]), dtype=x.dtype, device=x.device)
    return _reduce(losses, reduction, denominator, bug)


def _smoothing_term(log_p, nll, w, eps, n_classes, bug: dict[str, bool]):
    """The label-smoothing part of each position's loss (ε/C·Σ_c w_c·(−log p_c))."""
    smoothing_log_p = log_p.detach() if bug["detached_smoothing"] else log_p
    every_class = -(w * smoothing_log_p).sum(-1)  # Σ_c w_c·(−log p_c)
    if bug["smoothing_over_others"]:
        return (eps / (n_classes - 1)) * (every_class - nll) if n_classes > 1 else 0.0 * nll
    if bug["smoothing_excludes_target"]:
        return (eps / n_classes) * (every_class - nll)
    return (eps / n_classes) * every_class


def _hard_label_cross_entropy(
    x, log_p, target, w, ignore_index, eps, reduction, bug: dict[str, bool]
):
    """Cross-entropy against class indices, with ignored positions and label smoothing ε."""
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    target_log_p = log_p.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    nll = -w[safe] * target_log_p
    losses = (1.0 - eps) * nll + _smoothing_term(log_p, nll, w, eps, x.shape[1], bug)
    if not bug["ignored_in_sum"]:
        # torch.where, not a multiplication by the mask: an all-ignored 'mean' is 0/0 and
        # its infinite upstream gradient must not reach ignored positions as inf·0 = NaN.
        losses = torch.where(kept, losses, torch.zeros_like(losses))
    counted = w[safe] if bug["ignored_in_denominator"] else w[safe] * kept
    denominator = counted.sum()
    if bug["weighted_mean_over_count"]:
        denominator = kept.sum().to(x.dtype)
    if bug["weighted_mean_over_weight_total"]:
        denominator = w.sum()
    return _reduce(losses, reduction, denominator, bug)


def manual_cross_entropy(**bugs: bool):
    """``F.cross_entropy`` written by hand; each keyword of ``BUGS`` set to True plants one bug."""
    unknown = set(bugs) - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bug(s) {sorted(unknown)}")
    bug = {name: bool(bugs.get(name)) for name in BUGS}

    def cross_entropy(
        x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
    ):
        log_p = _log_probabilities(x.movedim(1, -1), bug)
        w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if weight is None else weight
        if target.is_floating_point():
            return _soft_target_cross_entropy(x, log_p, target, w, label_smoothing, reduction, bug)
        return _hard_label_cross_entropy(
            x, log_p, target, w, ignore_index, label_smoothing, reduction, bug
        )

    return cross_entropy


def manual_softmax(*, subtract_max: bool = True, clamp_tiny: bool = False):
    """Softmax written by hand, computed in float32 at least (as PyTorch's kernels are).

    Bugs: ``subtract_max=False`` computes exp(x) / Σ exp(x) as is (overflows to inf/inf = NaN);
    ``clamp_tiny`` "makes it safe for log" by clamping at the dtype's smallest normal number.
    """

    def softmax(x, dim):
        wide = x.to(torch.promote_types(x.dtype, torch.float32))
        if subtract_max:
            wide = wide - wide.amax(dim, keepdim=True).detach()
        e = torch.exp(wide)
        p = (e / e.sum(dim, keepdim=True)).to(x.dtype)
        return p.clamp_min(torch.finfo(x.dtype).tiny) if clamp_tiny else p

    return softmax


def cross_entropy_as_log_of_softmax(x, target, **params):
    """Cross-entropy written as NLL(log(softmax(x))): underflows where CE must stay finite."""
    return torch.nn.functional.nll_loss(torch.log(torch.softmax(x, 1)), target, **params)


def tutorial_without_max_subtraction(logits: np.ndarray, targets: np.ndarray):
    """The NumPy tutorial cross-entropy with the row max not subtracted: exp overflows."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(logits)
        probabilities = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(logits.shape[0])
        loss = -np.mean(np.log(probabilities[rows, targets]))
    gradient = probabilities.copy()
    gradient[rows, targets] -= 1.0
    return loss, gradient / logits.shape[0]
