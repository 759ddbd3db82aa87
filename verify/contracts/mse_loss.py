"""mse_loss: (input − target)², reduced."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from torch import nn

from verify.benchmarking import workloads as w
from verify.contracts import contract
from verify.contracts.families import reduction as reductions
from verify.contracts.families.regression import (
    ELEMENTWISE,
    elementwise_form_case,
    regression_matrix,
)
from verify.oracles import regression


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Two same-shaped arrays (the regression losses' form cases)."""
    return elementwise_form_case(draw, dtype, {})


CONTRACT = contract.Contract(
    name="mse_loss",
    summary="(input − target)², reduced",
    reference=regression.mse_loss,
    gradient=regression.mse_loss_vjp,
    params=(reductions.REDUCTION,),
    input_kinds=ELEMENTWISE,
    implementations=contract.torch_forms(F.mse_loss, nn.MSELoss),
    conformance=regression_matrix(regression.mse_loss, 2),
    form_cases=form_cases,
    benchmark_cases=tuple(
        w.Case("mse_loss", workload, w.predictions_and_targets)
        for workload in (w.REGRESSION_SMALL, w.REGRESSION, w.REGRESSION_LARGE)
    ),
)
