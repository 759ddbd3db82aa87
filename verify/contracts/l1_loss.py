"""l1_loss: |input − target|, reduced."""

from __future__ import annotations

from torch import nn

from verify.contracts.families.regression import regression_contract

CONTRACT = regression_contract(
    "l1_loss",
    "|input − target|, reduced",
    nn.L1Loss,
    1,
    # mse_loss's and smooth_l1_loss's cases time the elementwise family: not benchmarked
)
