"""The benchmark cases of every contract, in registry order, and the built-in each times.

Each contract's module (``verify.contracts.<name>``) holds its cases (``benchmark_cases``)
and, where torch has no functional form, the built-in it times (``benchmark_builtin``); what
a case is made of is in ``verify.benchmarking.workloads``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from verify.benchmarking.options import MODES as MODES  # the modes timed, defined torch-free
from verify.benchmarking.workloads import SIZES as SIZES
from verify.benchmarking.workloads import Case as Case
from verify.benchmarking.workloads import min_bytes as min_bytes
from verify.benchmarking.workloads import tensor_bytes as tensor_bytes
from verify.contracts import CONTRACTS

BUILTINS: dict[str, Callable[..., torch.Tensor]] = {
    name: contract.builtin for name, contract in CONTRACTS.items() if contract.builtin is not None
}

CASES: tuple[Case, ...] = tuple(
    case for contract in CONTRACTS.values() for case in contract.benchmark_cases
)
