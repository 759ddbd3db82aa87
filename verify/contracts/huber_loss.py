"""huber_loss: 0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from torch import nn

from verify.contracts import contract
from verify.contracts.families import reduction as reductions
from verify.contracts.families.regression import (
    ELEMENTWISE,
    elementwise_form_case,
    regression_matrix,
)
from verify.oracles import regression
from verify.strategies import LossCase


def _without_delta(case: LossCase) -> np.ndarray:
    params = {k: v for k, v in case.params.items() if k != "delta"}
    return regression.smooth_l1_loss(
        case.scores, case.target, beta=case.params.get("delta", 1.0), **params
    )


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Two same-shaped arrays and δ in [1e-3, 10]."""
    return elementwise_form_case(draw, dtype, {"delta": draw(st.just(1.0) | st.floats(1e-3, 10.0))})


CONTRACT = contract.Contract(
    name="huber_loss",
    summary="0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)",
    reference=regression.huber_loss,
    gradient=regression.huber_loss_vjp,
    params=(reductions.REDUCTION, contract.Param("delta", 1.0, "a float > 0")),
    input_kinds=ELEMENTWISE,
    implementations=contract.torch_forms(F.huber_loss, nn.HuberLoss),
    conformance=regression_matrix(
        regression.huber_loss,
        1,
        "delta",
        (contract.Variant("SmoothL1(β = δ): Huber without the δ factor", _without_delta),),
    ),
    form_cases=form_cases,
    benchmark_cases=(),  # smooth_l1_loss's cases time the same piecewise form
)
