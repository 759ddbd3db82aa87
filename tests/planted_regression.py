"""Hand-written regression implementations (REG-1 … REG-3) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_regression.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _reduce(losses: torch.Tensor, reduction: str, count: int | None = None) -> torch.Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (losses.numel() if count is None else count)


def manual_l1(*, mean_over_batch: bool = False):
    """|x − y| with a reduction. Bug ``mean_over_batch``: 'mean' divides by N, not numel."""

    def l1_loss(input, target, reduction="mean"):
        losses = (input - target).abs()
        return _reduce(losses, reduction, input.shape[0] if mean_over_batch else None)

    return l1_loss


def manual_mse(*, backward_factor: float = 2.0):
    """(x − y)² through a custom autograd.Function whose backward is written by hand.

    Bug ``backward_factor=1``: the backward returns g·d, forgetting the 2 of d(d²)/dd; the
    forward (and so every value) stays right.
    """

    class SquaredError(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, target):
            difference = input - target
            ctx.save_for_backward(difference)
            return difference * difference

        @staticmethod
        def backward(ctx, grad):
            (difference,) = ctx.saved_tensors
            local = backward_factor * difference * grad
            return local, -local

    def mse_loss(input, target, reduction="mean"):
        return _reduce(SquaredError.apply(input, target), reduction)

    return mse_loss


def manual_smooth_l1(*, forget_beta: bool = False):
    """SmoothL1(β) from its two branches. Bug ``forget_beta``: 0.5·d² inside, not 0.5·d²/β."""

    def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
        d = (input - target).abs()
        inside = 0.5 * d * d if forget_beta else 0.5 * d * d / beta
        return _reduce(torch.where(d < beta, inside, d - 0.5 * beta), reduction)

    return smooth_l1_loss


def manual_huber(*, forget_delta: bool = False):
    """Huber(δ) from its two branches. Bug ``forget_delta``: |d| − 0.5·δ outside, without δ·."""

    def huber_loss(input, target, reduction="mean", delta=1.0):
        d = (input - target).abs()
        outside = d - 0.5 * delta if forget_delta else delta * (d - 0.5 * delta)
        return _reduce(torch.where(d < delta, 0.5 * d * d, outside), reduction)

    return huber_loss


def smooth_l1_as_huber(input, target, reduction="mean", beta=1.0):
    """SmoothL1(β) mixed up with Huber(δ=β): δ times too large, slopes up to β, not 1."""
    return F.huber_loss(input, target, reduction=reduction, delta=beta)
