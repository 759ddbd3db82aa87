"""Mean-squared errors that support one backward pass per forward, as compiled functions and
fused kernels written as an ``autograd.Function`` do (``tests/test_gradient_checks.py``).

``_SquaredError`` frees what it saved on its first backward pass, so a second pass through the
same graph raises (as a compiled function's donated buffers make it), and its backward is
``@once_differentiable`` (no double backward). A correct one must conform; one whose gradient
is off by a factor must still be caught with one backward pass per forward.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class _SquaredError(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input: torch.Tensor, target: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.saved = [input - target]
        ctx.slope = slope
        return (input - target) ** 2

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        if not ctx.saved:
            raise RuntimeError("the saved difference was freed by the first backward pass")
        (difference,) = ctx.saved
        ctx.saved = []
        return ctx.slope * difference * grad, -ctx.slope * difference * grad, None


def _reduced(squared: torch.Tensor, reduction: str) -> torch.Tensor:
    return {"none": squared, "sum": squared.sum(), "mean": squared.mean()}[reduction]


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """A correct mean-squared error with one backward pass per forward."""
    return _reduced(_SquaredError.apply(input, target, 2.0), reduction)


def mse_loss_half_gradient(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Planted: the gradient of d² taken as d, a factor 2 lost."""
    return _reduced(_SquaredError.apply(input, target, 1.0), reduction)
