"""smooth_l1_loss: 0.5·d²/β where |d| < β, else |d| − 0.5·β."""

from __future__ import annotations

import numpy as np
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
from verify.oracles.reduction import reduce
from verify.strategies import LossCase


def _without_inverse_beta(case: LossCase) -> np.ndarray:
    beta = case.params.get("beta", 1.0)
    d = case.scores - case.target
    per = np.where(np.abs(d) < beta, 0.5 * d * d, np.abs(d) - 0.5 * beta)
    return reduce(per, case.params.get("reduction", "mean"))


@st.composite
def form_cases(draw: st.DrawFn, dtype: torch.dtype) -> contract.FormCase:
    """Two same-shaped arrays and β in [0, 10] (0 included: L1)."""
    return elementwise_form_case(draw, dtype, {"beta": draw(st.just(0.0) | st.floats(0.0, 10.0))})


CONTRACT = contract.Contract(
    name="smooth_l1_loss",
    summary="0.5·d²/β where |d| < β, else |d| − 0.5·β",
    reference=regression.smooth_l1_loss,
    gradient=regression.smooth_l1_loss_vjp,
    params=(reductions.REDUCTION, contract.Param("beta", 1.0, "a float ≥ 0 (0 is L1)")),
    input_kinds=ELEMENTWISE,
    implementations=contract.torch_forms(F.smooth_l1_loss, nn.SmoothL1Loss),
    conformance=regression_matrix(
        regression.smooth_l1_loss,
        1,
        "beta",
        (contract.Variant("0.5·d² inside |d| < β, without the 1/β", _without_inverse_beta),),
    ),
    form_cases=form_cases,
    benchmark_cases=tuple(
        w.Case("smooth_l1_loss", workload, w.predictions_and_targets)
        for workload in (w.REGRESSION_SMALL, w.REGRESSION, w.REGRESSION_LARGE)
    ),
)
