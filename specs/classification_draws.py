"""Hypothesis draws shared by the classification specs (CE-*, BCE-7, SCE-*)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from verify import strategies as vs


def unweighted_rows(dtype: torch.dtype, reduction: str | None, **limits) -> st.SearchStrategy:
    """(N, C) classification cases without class weights or ignored targets."""
    return vs.classification_cases(
        dtype, max_kdims=0, weights=False, ignore_index=False, reduction=reduction, **limits
    )
