"""mse_loss: (input − target)², reduced."""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import nn

from verify.contracts import contract
from verify.contracts.families.regression import elementwise_form_case, regression_contract


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Two same-shaped arrays (the regression losses' form cases)."""
    return elementwise_form_case(draw, dtype, {})


CONTRACT = regression_contract(
    "mse_loss", "(input − target)², reduced", nn.MSELoss, 2, form_cases, benchmarked=True
)
