"""log_softmax: x − logsumexp(x) along ``dim``."""

from __future__ import annotations

from torch import nn

from verify.benchmarking import workloads as w
from verify.contracts.families.normalization import normalization_contract

CONTRACT = normalization_contract(
    "log_softmax",
    "x − logsumexp(x) along dim",
    nn.LogSoftmax,
    k_dim="K-dimensional scores (N, C, d1, ..., dk), over dim 1",
    benchmark_cases=w.cases(
        "log_softmax", (w.IMAGE, w.LM_32K, w.LM_128K), w.scores, params={"dim": 1}
    ),
)
