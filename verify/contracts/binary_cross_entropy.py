"""binary_cross_entropy: −w·(y·log p + (1−y)·log(1−p)), each log clamped at −100."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from verify import oracles
from verify.contracts import contract
from verify.contracts.families import binary
from verify.contracts.families import reduction as reductions
from verify.strategies import LossCase


def _clamped(eps: float) -> Callable[[LossCase], np.ndarray]:
    def value(case: LossCase) -> np.ndarray:
        clipped = np.clip(case.scores, eps, 1 - eps)
        return oracles.binary_cross_entropy(clipped, case.target, **case.params)

    return value


CONFORMANCE = contract.FeatureMatrix(
    (*reductions.REDUCTION_FEATURES, binary.ELEMENT_WEIGHT_FEATURE, binary.SOFT_TARGETS_FEATURE),
    lambda dtype, features, reduction: binary.binary_cases(dtype, features, reduction, False),
    lambda case, inputs: binary.binary_bounds(case, inputs, False),
    edges=lambda: reductions.empty_batches(np.full((2, 3), 0.5), np.zeros((2, 3))),
    # Finite differences step 1e-6 either side: keep p well inside (0, 1).
    gradcheck_cases=lambda dtype: binary.binary_cases(dtype, frozenset(), "mean", False, 1e-2),
    variants=tuple(
        contract.Variant(f"probabilities clamped to [eps, 1−eps] with eps ≈ {eps:g}", _clamped(eps))
        for eps in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-12)
    ),
)


def form_cases(dtype: torch.dtype) -> st.SearchStrategy[contract.FormCase]:
    """Probabilities of any binary shape, hard or soft targets, an optional broadcast weight."""
    return binary.binary_form_cases(dtype, logits=False)


CONTRACT = contract.torch_contract(
    "binary_cross_entropy",
    nn.BCELoss,
    summary="−w·(y·log p + (1−y)·log(1−p)), each log clamped at −100",
    params=(binary.ELEMENT_WEIGHT, reductions.REDUCTION),
    input_kinds=("probabilities, any shape",),
    conformance=CONFORMANCE,
    form_cases=form_cases,
    benchmark_cases=(),  # binary_cross_entropy_with_logits's cases time the binary family
)
