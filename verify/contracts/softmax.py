"""softmax: exp(x) / Σ exp(x) along ``dim``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from verify import oracles
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
    (Feature("k_dim", "K-dimensional scores (N, C, d1, ..., dk), softmax over dim 1"),),
    normalization_cases,
    lambda case, scores: normalization_bounds(case, scores, log=False),
    edges=normalization_edges,
    variants=(along_batch("softmax over dim 0 (the batch) instead of dim 1", oracles.softmax),),
)

CONTRACT = Contract(
    name="softmax",
    summary="exp(x) / Σ exp(x) along dim",
    reference=along_dim(oracles.softmax),
    gradient=along_dim(oracles.softmax_vjp),
    params=(DIM,),
    input_kinds=SCORES,
    implementations=torch_forms(F.softmax, nn.Softmax),
    conformance=CONFORMANCE,
    form_cases=normalization_form_cases,
    benchmark_cases=(),  # log_softmax's cases time the same normalization
)
