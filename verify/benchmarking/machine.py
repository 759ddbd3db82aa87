"""The machine a benchmark ran on: its device kind, storage folder, information and copy bandwidth.

pytest-benchmark names its storage folder after the OS, Python and word size, not the GPU, so a
run on an H100 and one on a laptop would be compared. ``device_kind`` names what the numbers
depend on (the GPU model, or the CPU model where there is none), ``storage_uri`` puts each kind
in its own folder, and ``machine_info`` adds the GPU, driver, torch and CUDA versions to the
machine information saved with each run.

CPU allocator: PyTorch's CPU tensors come from the C library's ``malloc``, and glibc hands an
allocation above its mmap threshold (128 KiB, rising to at most 32 MiB) to the kernel and
returns it on ``free``. A loss on large CPU inputs then page-faults its temporaries in on every
call: on the 2-core
development VM, SmoothL1 on 10⁷ float32 elements took 9 767 page faults and 15–18 ms per call,
most of it in the kernel, and 4.9–6.1 ms with the settings in ``KEEP_FREED_MEMORY`` (glibc keeps
freed memory in its heap: no mmap, no trim). The fault time depends on the host's load, not on
the loss, so the benchmark environments set them (``tox -e bench``), and ``machine_info``
records which ``MALLOC_*`` settings a run had (``malloc_settings``): a baseline timed with
them and a run timed without are not comparable.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from verify.benchmarking import timing

DEFAULT_STORAGE = "file://./.benchmarks"

#: glibc tunables under which freed memory stays in the heap (read once, at process start).
KEEP_FREED_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**40)}


def malloc_settings() -> dict[str, str]:
    """The ``MALLOC_*`` environment variables this process started with (glibc's tunables)."""
    return {name: value for name, value in sorted(os.environ.items()) if name.startswith("MALLOC_")}


def malloc_note() -> str:
    """One line for a benchmark run's header: the ``MALLOC_*`` settings, or what their absence
    costs on the CPU."""
    settings = malloc_settings()
    if settings:
        return "malloc settings: " + " ".join(f"{k}={v}" for k, v in settings.items())
    keep = " ".join(f"{k}={v}" for k, v in KEEP_FREED_MEMORY.items())
    return f"malloc settings: none (large CPU temporaries are page-faulted in per call; {keep})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def device_kind() -> str:
    """'cuda-NVIDIA-H100-80GB-HBM3' on a GPU machine, else 'cpu-<CPU model>', as a folder name."""
    if torch.cuda.is_available():
        return "cuda-" + _slug(torch.cuda.get_device_name(0))
    return "cpu-" + _slug(_cpu_model())


def storage_uri(base: str = DEFAULT_STORAGE) -> str:
    """pytest-benchmark's storage URI with the device kind appended: one folder per kind."""
    return f"{base.rstrip('/')}/{device_kind()}"


def _driver_version() -> str | None:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def machine_info() -> dict[str, Any]:
    """What this project adds to pytest-benchmark's machine info."""
    info: dict[str, Any] = {
        "verify_device_kind": device_kind(),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cpu_model": _cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "malloc_settings": malloc_settings(),
    }
    if torch.cuda.is_available():
        info["gpu_name"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["gpu_driver"] = _driver_version()
        properties = torch.cuda.get_device_properties(0)
        info["gpu_memory_bytes"] = int(properties.total_memory)
        info["gpu_l2_cache_bytes"] = int(getattr(properties, "L2_cache_size", 0)) or None
    return info


@dataclass(frozen=True)
class CopyBandwidth:
    """A device-to-device copy of ``nbytes``: median seconds and GB/s (2·nbytes moved)."""

    device: str
    nbytes: int
    median_s: float

    @property
    def gbps(self) -> float:
        return 2 * self.nbytes / self.median_s / 1e9

    def seconds_for(self, nbytes: int) -> float:
        """The time a copy moving ``nbytes`` (read plus written) takes at this bandwidth."""
        return nbytes / (self.gbps * 1e9)


def copy_nbytes(device: str) -> int:
    """The copy measured: 1 GiB on CUDA, 256 MiB on the CPU (both well past the caches)."""
    return 2**30 if torch.device(device).type == "cuda" else 2**28


def copy_bandwidth(
    device: str, *, nbytes: int | None = None, max_time_s: float = 1.0
) -> CopyBandwidth:
    """Time ``dst.copy_(src)`` of ``nbytes`` on ``device`` with the benchmarks' own method."""
    nbytes = nbytes or copy_nbytes(device)
    source = torch.ones(nbytes, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)

    def copy() -> None:
        target.copy_(source)

    timer = timing.synchronizing_timer(timing.backend_for(device))
    plan = timing.plan(copy, timer, max_time_s=max_time_s)
    samples = timing.time_rounds(copy, timer, plan)
    return CopyBandwidth(device, nbytes, timing.median(samples))
