"""Diagnosis: which known convention a deviating implementation follows instead.

Each contract lists *variants* (``verify.contracts.Variant``): conventions that differ from the
contract, such as 'sum instead of mean' or label smoothing spread over the C−1 other classes.
The implementation's value is taken on the counterexample and on further draws of the same
check; a variant is named when it disagrees with the contract on at least one of them and the
implementation matches the variant on every one where they disagree.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from verify import devices
from verify.conformance.evaluation import Caller, Target, oracle_inputs, rounded_case, tensors
from verify.contracts import Variant
from verify.strategies import LossCase
from verify.tolerances import compare

CONFIRMATIONS = 8  # further draws a variant must also explain


def _sample(strategy: st.SearchStrategy[LossCase], count: int) -> list[LossCase]:
    """``count`` reproducible draws from ``strategy`` (no shrinking)."""
    drawn: list[LossCase] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: LossCase) -> None:
        drawn.append(case)

    collect()
    return drawn


def _explains(
    target: Target, variant: Variant, case: LossCase, got: np.ndarray | None, dtype: torch.dtype
) -> bool | None:
    """True if the output matches ``variant`` where it differs from the contract, None if moot."""
    if got is None:
        return None
    ref = rounded_case(case, dtype)
    bounds = target.matrix.bounds(ref, ref.scores).value
    expected = target.contract.reference(*oracle_inputs(ref), **ref.params)
    with np.errstate(all="ignore"):
        value = np.asarray(variant.value(ref), dtype=np.float64)
    if value.shape != np.shape(got) or np.all(np.isnan(value)):
        return None
    if compare(value, expected, dtype=dtype, **bounds).passed:
        return None
    return compare(got, value, dtype=dtype, **bounds).passed


def _output(caller: Caller, case: LossCase, dtype: torch.dtype) -> np.ndarray | None:
    """The implementation's value on ``case`` (on the CPU), or None if it fails."""
    inputs, params = tensors(case, "cpu", dtype)
    try:
        with torch.no_grad():
            return devices.to_numpy(caller.loss(*inputs, **params))
    except Exception:
        return None


def diagnose(
    caller: Caller,
    target: Target,
    case: LossCase,
    dtype: torch.dtype,
    strategy: st.SearchStrategy[LossCase],
) -> list[str]:
    """The descriptions of the variants that explain the failure on ``case``."""
    cases = [case, *_sample(strategy, CONFIRMATIONS)]
    outputs = [_output(caller, c, dtype) for c in cases]
    found = []
    for variant in target.matrix.variants:
        verdicts = [
            _explains(target, variant, c, got, dtype) for c, got in zip(cases, outputs, strict=True)
        ]
        if True in verdicts and False not in verdicts:
            found.append(variant.description)
    return found
