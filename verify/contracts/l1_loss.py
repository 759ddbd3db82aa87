"""l1_loss: |input − target|, reduced."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify.contracts.contract import Contract, torch_forms
from verify.contracts.families.reduction import REDUCTION
from verify.contracts.families.regression import ELEMENTWISE, regression_matrix
from verify.contracts.mse_loss import form_cases
from verify.oracles import regression

CONTRACT = Contract(
    name="l1_loss",
    summary="|input − target|, reduced",
    reference=regression.l1_loss,
    gradient=regression.l1_loss_vjp,
    params=(REDUCTION,),
    input_kinds=ELEMENTWISE,
    implementations=torch_forms(F.l1_loss, nn.L1Loss),
    conformance=regression_matrix(regression.l1_loss, 1),
    form_cases=form_cases,
    benchmark_cases=(),  # mse_loss's and smooth_l1_loss's cases time the elementwise family
)
