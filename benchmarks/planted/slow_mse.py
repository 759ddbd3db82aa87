"""Planted slowdowns for the benchmark gate: MSE losses that move more memory than they must.

``mse_loss_10_percent_more_traffic`` reads a fifth of the input again, 10% more than the
fewest bytes (both inputs read once); ``mse_loss_reads_input_8_more_times`` reads the whole
input eight more times. Both return ``F.mse_loss``'s value, so they conform: only the time
changes. ``tox -e bench-compare -- -k mse_loss-reg1e6 --bench-impl mse_loss=...
--bench-only-impl`` against a baseline of the built-in shows the gate catching them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mse_loss_10_percent_more_traffic(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    input.detach().reshape(-1)[: input.numel() // 5].sum()
    return F.mse_loss(input, target, reduction=reduction)


def mse_loss_reads_input_8_more_times(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    for _ in range(8):
        input.detach().sum()
    return F.mse_loss(input, target, reduction=reduction)
