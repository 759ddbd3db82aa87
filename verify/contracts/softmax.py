"""softmax: exp(x) / Σ exp(x) along ``dim``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify import oracles
from verify.contracts import contract
from verify.contracts.families import normalization

CONTRACT = contract.Contract(
    name="softmax",
    summary="exp(x) / Σ exp(x) along dim",
    reference=normalization.along_dim(oracles.softmax),
    gradient=normalization.along_dim(oracles.softmax_vjp),
    params=(normalization.DIM,),
    input_kinds=normalization.SCORES,
    implementations=contract.torch_forms(F.softmax, nn.Softmax),
    conformance=normalization.normalization_matrix(
        oracles.softmax,
        log=False,
        k_dim="K-dimensional scores (N, C, d1, ..., dk), softmax over dim 1",
        along_batch_variant="softmax over dim 0 (the batch) instead of dim 1",
    ),
    form_cases=normalization.normalization_form_cases,
    benchmark_cases=(),  # log_softmax's cases time the same normalization
)
