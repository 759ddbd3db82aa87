"""huber_loss: 0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from torch import nn

from verify.contracts import contract
from verify.contracts.families.regression import regression_contract
from verify.oracles import regression
from verify.strategies import LossCase


def _without_delta(case: LossCase) -> np.ndarray:
    params = {k: v for k, v in case.params.items() if k != "delta"}
    return regression.smooth_l1_loss(
        case.scores, case.target, beta=case.params.get("delta", 1.0), **params
    )


CONTRACT = regression_contract(
    "huber_loss",
    "0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)",
    nn.HuberLoss,
    1,
    (contract.Param("delta", 1.0, "a float > 0"), st.just(1.0) | st.floats(1e-3, 10.0)),
    (contract.Variant("SmoothL1(β = δ): Huber without the δ factor", _without_delta),),
    # smooth_l1_loss's cases time the same piecewise form: not benchmarked
)
