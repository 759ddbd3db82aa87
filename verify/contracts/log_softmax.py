"""log_softmax: x − logsumexp(x) along ``dim``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify import oracles
from verify.benchmarking import workloads as w
from verify.contracts import contract
from verify.contracts.families import normalization

CONTRACT = contract.Contract(
    name="log_softmax",
    summary="x − logsumexp(x) along dim",
    reference=normalization.along_dim(oracles.log_softmax),
    gradient=normalization.along_dim(oracles.log_softmax_vjp),
    params=(normalization.DIM,),
    input_kinds=normalization.SCORES,
    implementations=contract.torch_forms(F.log_softmax, nn.LogSoftmax),
    conformance=normalization.normalization_matrix(
        oracles.log_softmax,
        log=True,
        k_dim="K-dimensional scores (N, C, d1, ..., dk), over dim 1",
        along_batch_variant="log_softmax over dim 0 (the batch) instead of dim 1",
    ),
    form_cases=normalization.normalization_form_cases,
    benchmark_cases=tuple(
        w.Case("log_softmax", workload, w.scores, params={"dim": 1})
        for workload in (w.IMAGE, w.LM_32K, w.LM_128K)
    ),
)
