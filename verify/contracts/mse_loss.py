"""mse_loss: (input − target)², reduced."""

from __future__ import annotations

from torch import nn

from verify.contracts.families.regression import regression_contract

CONTRACT = regression_contract(
    "mse_loss", "(input − target)², reduced", nn.MSELoss, 2, benchmarked=True
)
