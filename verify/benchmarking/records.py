"""One benchmark as a saved pytest-benchmark run holds it, with the fields this project adds.

pytest-benchmark writes a run as JSON: ``machine_info`` (with ``verify_device_kind``, the GPU
name, driver, torch and CUDA versions and the same-run copy bandwidth per device added by
``verify.benchmarking.machine``) and ``benchmarks``, a list of entries with ``name``,
``fullname``, ``stats`` (``median`` etc. in seconds per call, and the raw per-round samples in
``stats["data"]`` when the run was saved with ``--benchmark-save-data``) and ``extra_info``.
The benchmarks in ``benchmarks/`` fill ``extra_info`` with the keys of ``EXTRA_INFO_KEYS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXTRA_INFO_KEYS: dict[str, str] = {
    "loss": "the loss benchmarked, a contract name (e.g. 'cross_entropy')",
    "variant": "the parameters that differ from the default ('' or e.g. 'label_smoothing=0.1')",
    "implementation": "'torch' for the built-in, else the TARGET benchmarked",
    "device": "'cpu' or 'cuda'",
    "dtype": "'float32', 'bfloat16' or 'float16'",
    "mode": "'forward' or 'forward+backward'",
    "workload": "what the shape stands for (e.g. 'image classification')",
    "shape": "the input's shape, e.g. '256x1000'",
    "elements": "the input's number of elements",
    "min_bytes": "the fewest bytes the call must move: inputs read once, outputs written once",
    "input_bytes": "the inputs' own size in bytes",
    "achieved_gbps": "min_bytes / median seconds, in GB/s (1e9 bytes)",
    "copy_gbps": "the device's copy bandwidth measured in the same run, in GB/s",
    "copy_equivalent_s": "the seconds a copy moving min_bytes takes at copy_gbps",
    "fraction_of_copy": "achieved_gbps / copy_gbps",
    "peak_memory_bytes": "CUDA: peak allocation during one call beyond what was held; CPU: None",
    "iterations": "calls per timed round",
    "rotating_copies": "input sets rotated through so that no call finds its inputs in cache",
    "timer": "how a round was timed",
}


@dataclass(frozen=True)
class BenchRecord:
    """One benchmark of a saved run: its name, its per-call samples and its extra info."""

    name: str
    fullname: str
    median_s: float
    samples: tuple[float, ...]
    extra: dict[str, Any]

    @property
    def key(self) -> str:
        """What identifies the benchmark across runs: the test's full name."""
        return self.fullname

    @property
    def copy_equivalent_s(self) -> float | None:
        """Seconds a copy moving the same bytes took in the same run (None if not recorded)."""
        value = self.extra.get("copy_equivalent_s")
        return float(value) if value else None


@dataclass(frozen=True)
class BenchRun:
    """A saved run: where it came from, its machine info and its benchmarks."""

    path: Path
    machine_info: dict[str, Any]
    records: tuple[BenchRecord, ...]

    def by_key(self) -> dict[str, BenchRecord]:
        return {record.key: record for record in self.records}


def load_run(path: str | Path) -> BenchRun:
    """Read a pytest-benchmark JSON file; ValueError (one line) if it is not one."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read benchmark results {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ValueError(f"{path} is not a pytest-benchmark JSON file (no 'benchmarks' list)")
    try:
        records = tuple(record_from_entry(entry) for entry in document["benchmarks"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: malformed benchmark entry ({error!r})") from None
    return BenchRun(path, dict(document.get("machine_info", {})), records)


def record_from_entry(entry: dict[str, Any]) -> BenchRecord:
    """A record from one entry of the JSON's ``benchmarks`` list (or ``Metadata.as_dict()``)."""
    return BenchRecord(
        name=entry["name"],
        fullname=entry.get("fullname", entry["name"]),
        median_s=float(entry["stats"]["median"]),
        samples=tuple(float(s) for s in entry["stats"].get("data", ())),
        extra=dict(entry.get("extra_info", {})),
    )
