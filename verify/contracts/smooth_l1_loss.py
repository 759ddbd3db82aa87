"""smooth_l1_loss: 0.5·d²/β where |d| < β, else |d| − 0.5·β."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from torch import nn

from verify.contracts import contract
from verify.contracts.families.regression import regression_contract
from verify.oracles.reduction import reduce
from verify.strategies import LossCase


def _without_inverse_beta(case: LossCase) -> np.ndarray:
    beta = case.params.get("beta", 1.0)
    d = case.scores - case.target
    per = np.where(np.abs(d) < beta, 0.5 * d * d, np.abs(d) - 0.5 * beta)
    return reduce(per, case.params.get("reduction", "mean"))


CONTRACT = regression_contract(
    "smooth_l1_loss",
    "0.5·d²/β where |d| < β, else |d| − 0.5·β",
    nn.SmoothL1Loss,
    1,
    (contract.Param("beta", 1.0, "a float ≥ 0 (0 is L1)"), st.just(0.0) | st.floats(0.0, 10.0)),
    (contract.Variant("0.5·d² inside |d| < β, without the 1/β", _without_inverse_beta),),
    benchmarked=True,
)
