"""log_softmax: x − logsumexp(x) along ``dim``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify import oracles
from verify.benchmarking import workloads as w
from verify.benchmarking.workloads import Case
from verify.contracts.contract import Contract, Feature, FeatureMatrix, torch_forms
from verify.contracts.families.normalization import (
    DIM,
    SCORES,
    along_batch,
    along_dim,
    normalization_bounds,
    normalization_cases,
    normalization_edges,
    normalization_form_cases,
)

CONFORMANCE = FeatureMatrix(
    (Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk), over dim 1"),),
    normalization_cases,
    lambda case, scores: normalization_bounds(case, scores, log=True),
    edges=normalization_edges,
    variants=(
        along_batch("log_softmax over dim 0 (the batch) instead of dim 1", oracles.log_softmax),
    ),
)

CONTRACT = Contract(
    name="log_softmax",
    summary="x − logsumexp(x) along dim",
    reference=along_dim(oracles.log_softmax),
    gradient=along_dim(oracles.log_softmax_vjp),
    params=(DIM,),
    input_kinds=SCORES,
    implementations=torch_forms(F.log_softmax, nn.LogSoftmax),
    conformance=CONFORMANCE,
    form_cases=normalization_form_cases,
    benchmark_cases=tuple(
        Case("log_softmax", workload, w.scores, params={"dim": 1})
        for workload in (w.IMAGE, w.LM_32K, w.LM_128K)
    ),
)
