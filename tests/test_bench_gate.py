"""The benchmark suites end to end (``tox`` runs every benchmark once, on tiny shapes): a saved
run, and the gate (``verify bench-compare``) catching a planted slowdown
(``benchmarks/planted/slow_mse.py``).

The slowdown planted here is a 50 ms sleep per call, far beyond what the load of the machine
running the tests does to a 10⁶-element MSE (under ``pytest -n 2`` on 2 cores the baseline
itself was measured at 0.3 to 2.7 ms, which hid even the eight-extra-reads slowdown of
``benchmarks/planted/``): the test checks the pipeline, not the gate's sensitivity. That, at
the 10% threshold and on reruns of unchanged code, is shown on synthetic samples in
``tests/test_bench_compare.py`` and measured in ``benchmarks/results/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
SLEEPING_MSE = """
import time
import torch.nn.functional as F


def mse_loss(input, target, reduction="mean"):
    time.sleep(0.05)
    return F.mse_loss(input, target, reduction=reduction)
"""
CASE = "mse_loss-reg1e6 and cpu and float32 and forward and not backward"


def _benchmark(tmp_path: Path, name: str, *extra: str) -> Path:
    output = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "benchmarks",
         "-k", CASE, "--benchmark-max-time=0.2", "--benchmark-save-data",
         f"--benchmark-json={output}", f"--benchmark-storage=file://{tmp_path / 'storage'}",
         *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=_outside_xdist(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return output


def _outside_xdist() -> dict[str, str]:
    """This environment without xdist's worker variables: pytest-benchmark disables itself
    when it sees PYTEST_XDIST_WORKER, which a run under ``pytest -n`` passes down."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}


def _compare(current: Path, baseline: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli", "bench-compare", str(current), "--baseline",
         str(baseline)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_gate_fails_on_planted_slowdown(tmp_path):
    baseline = _benchmark(tmp_path, "baseline")
    document = json.loads(baseline.read_text())
    (entry,) = document["benchmarks"]
    assert entry["extra_info"]["min_bytes"] == 2 * 10**6 * 4 + 4
    assert len(entry["stats"]["data"]) >= 10
    planted = tmp_path / "sleeping_mse.py"
    planted.write_text(SLEEPING_MSE)
    slow = _benchmark(
        tmp_path, "slow", f"--bench-impl=mse_loss={planted}:mse_loss", "--bench-only-impl"
    )
    done = _compare(slow, baseline)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "regression" in done.stdout
    assert _compare(baseline, baseline).returncode == 0
