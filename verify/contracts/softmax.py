"""softmax: exp(x) / Σ exp(x) along ``dim``."""

from __future__ import annotations

from torch import nn

from verify.contracts.families.normalization import normalization_contract

CONTRACT = normalization_contract(
    "softmax",
    "exp(x) / Σ exp(x) along dim",
    nn.Softmax,
    k_dim="K-dimensional scores (N, C, d1, ..., dk), softmax over dim 1",
    benchmark_cases=(),  # log_softmax's cases time the same normalization
)
