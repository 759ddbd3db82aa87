"""Where a run happened: the torch version, its build and the devices, for the reports.

Claims can change truth between torch versions (SCE-1's clamp gradient changed between 2.13.0
and 2.14.1), so a report that does not say where it ran cannot be compared with another one.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import Any

import torch

from verify import devices


def build() -> str:
    """'CPU', 'CUDA 13.0' or 'ROCm 6.2': what this torch was built for."""
    if torch.version.cuda:
        return f"CUDA {torch.version.cuda}"
    if getattr(torch.version, "hip", None):
        return f"ROCm {torch.version.hip}"
    return "CPU"


def device_name(device: str) -> str:
    """The device's model ('NVIDIA H200', the CPU's architecture), or why it is absent."""
    reason = devices.unavailable_reason(device)
    if reason:
        return reason
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine() or "cpu"


def describe(shown: Sequence[str]) -> dict[str, Any]:
    """The environment of a run over the devices ``shown``, as the JSON reports record it."""
    return {
        "torch": torch.__version__,
        "build": build(),
        "python": platform.python_version(),
        "devices": {d: device_name(d) for d in shown},
    }


def one_line(environment: dict[str, Any] | None) -> str:
    """'torch 2.14.1+cu130 (CUDA 13.0 build); cpu: x86_64, cuda: CUDA not available'."""
    if not environment:
        return "environment not recorded"
    where = ", ".join(f"{d}: {name}" for d, name in environment.get("devices", {}).items())
    return f"torch {environment['torch']} ({environment['build']} build); {where}"
