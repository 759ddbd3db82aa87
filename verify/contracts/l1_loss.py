"""l1_loss: |input − target|, reduced."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify.contracts import contract
from verify.contracts.families import reduction as reductions
from verify.contracts.families.regression import ELEMENTWISE, regression_matrix
from verify.contracts.mse_loss import form_cases
from verify.oracles import regression

CONTRACT = contract.Contract(
    name="l1_loss",
    summary="|input − target|, reduced",
    reference=regression.l1_loss,
    gradient=regression.l1_loss_vjp,
    params=(reductions.REDUCTION,),
    input_kinds=ELEMENTWISE,
    implementations=contract.torch_forms(F.l1_loss, nn.L1Loss),
    conformance=regression_matrix(regression.l1_loss, 1),
    form_cases=form_cases,
    benchmark_cases=(),  # mse_loss's and smooth_l1_loss's cases time the elementwise family
)
