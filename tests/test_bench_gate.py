"""The benchmark suites end to end (``tox`` runs every benchmark once, on tiny shapes): a saved
run, the comparison (``verify bench-compare``) and the gate (``verify bench-gate``) catching a
planted slowdown, and the gate clearing a slowdown that does not reproduce when re-timed.

The slowdown planted here is a 200 ms sleep per call, far beyond what the load of the machine
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

import pytest

from verify.benchmarking import gate
from verify.benchmarking.compare import Comparison
from verify.cli import main as verify_main

ROOT = Path(__file__).parents[1]
SLEEPING_MSE = """
import time
import torch.nn.functional as F


def mse_loss(input, target, reduction="mean"):
    time.sleep(0.2)
    return F.mse_loss(input, target, reduction=reduction)
"""
SLOW_IN_FIRST_PROCESS = """
import time
from pathlib import Path
import torch.nn.functional as F

MARKER = Path(__file__).with_suffix(".timed")
SLOW = not MARKER.exists()  # the first process to import this is slow, later ones are not
MARKER.touch()


def mse_loss(input, target, reduction="mean"):
    if SLOW:
        time.sleep(0.2)
    return F.mse_loss(input, target, reduction=reduction)
"""
CASE = "mse_loss-reg1e6 and cpu and float32 and forward and not backward"
GATE_THRESHOLD = 30
"""The end-to-end gate fails only beyond 31×: the sleep makes a call 200 ms slower, over 70×
the slowest baseline seen under load (2.7 ms), while an unchanged MSE re-timed under
``pytest -n`` must not fail it (the baseline itself ranged 0.3 to 2.7 ms there, 9×)."""
OPTIONS = ("-q", "-k", CASE, "--benchmark-max-time=0.2")


def _benchmark(tmp_path: Path, name: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    output = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "benchmarks", *OPTIONS,
         "--benchmark-save-data",
         f"--benchmark-json={output}", f"--benchmark-storage=file://{tmp_path / 'storage'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=_outside_xdist(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return output


def _outside_xdist() -> dict[str, str]:
    """This environment without xdist's worker variables: pytest-benchmark disables itself
    when it sees PYTEST_XDIST_WORKER, which a run under ``pytest -n`` passes down."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}


def _compare(current: Path, baseline: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``verify bench-compare`` in this process (its timed runs are the processes that matter)."""
    status = verify_main(["bench-compare", str(current), "--baseline", str(baseline)])
    return status, capsys.readouterr().out


def _gate(tmp_path: Path, baseline: Path, implementation: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli", "bench-gate", "--baseline", str(baseline),
         "--threshold", str(GATE_THRESHOLD), "--recheck", "1", "--out", str(tmp_path / "gate"),
         "--", *OPTIONS,
         f"--bench-impl=mse_loss={implementation}:mse_loss", "--bench-only-impl",
         f"--benchmark-storage=file://{tmp_path / 'storage'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=_outside_xdist(),
    )  # fmt: skip


def test_a_planted_slowdown_fails_the_comparison_and_the_gate_clears_a_transient_one(
    tmp_path, capsys
):
    """One test, so that its timed baseline run (a pytest process: seconds of CPU) is made once:
    the saved run of the unchanged MSE; ``bench-compare`` of the sleeping MSE's run (the gate's
    first timing) against it fails, of the baseline against itself passes; the gate confirms the
    sleeping MSE's regression by re-timing it, and clears one that does not reproduce."""
    baseline = _benchmark(tmp_path / "baseline", "baseline")
    (entry,) = json.loads(baseline.read_text())["benchmarks"]
    assert entry["extra_info"]["min_bytes"] == 2 * 10**6 * 4 + 4
    assert len(entry["stats"]["data"]) >= 10

    sleeping = tmp_path / "sleeping_mse.py"
    sleeping.write_text(SLEEPING_MSE)
    done = _gate(tmp_path / "sleeping", baseline, sleeping)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "confirmed by 1 re-measurement" in done.stdout
    assert (tmp_path / "sleeping" / "gate" / "bench-recheck-1.json").is_file()
    status, output = _compare(
        tmp_path / "sleeping" / "gate" / "bench-current.json", baseline, capsys
    )
    assert status == 1 and "regression" in output, output
    assert _compare(baseline, baseline, capsys)[0] == 0

    transient = tmp_path / "transient_mse.py"
    transient.write_text(SLOW_IN_FIRST_PROCESS)
    done = _gate(tmp_path / "transient", baseline, transient)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "not confirmed:" in done.stdout
    assert "1 of 1 regression(s) not confirmed" in done.stdout


def _comparison(key: str, ratio: float, verdict: str) -> Comparison:
    return Comparison(key, key, 1.0, ratio, ratio, 1e-9, verdict)


def test_confirm_keeps_only_regressions_every_re_measurement_repeats():
    first = [
        _comparison("real", 1.5, "regression"),
        _comparison("transient", 1.4, "regression"),
        _comparison("faster", 0.5, "improvement"),
        _comparison("untimed", 1.3, "regression"),
    ]
    rechecks = [
        [_comparison("real", 1.45, "regression"), _comparison("transient", 1.3, "regression")],
        [_comparison("real", 1.55, "regression"), _comparison("transient", 1.02, "unchanged")],
    ]
    real, transient, faster, untimed = gate.confirm(first, rechecks)
    assert real.verdict == "regression"
    assert real.note == "confirmed by 2 re-measurements (1.45×, 1.55×)"
    assert transient.verdict == "unchanged"
    assert transient.note == "not confirmed: 1.40× at first, 1.02× when re-measured"
    assert faster == first[2]
    assert untimed.verdict == "regression" and untimed.note == "not re-measured"
    assert gate.confirm(first, []) == first


def test_gate_arguments_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no benchmarks/ here
    assert verify_main(["bench-gate"]) == 2
    assert capsys.readouterr().err.strip() == (
        "verify bench-gate: error: no benchmarks/ folder here: run verify bench-gate from the "
        "project root"
    )
    assert verify_main(["bench-gate", "--recheck", "-1"]) == 2
    assert "--recheck must be 0 or more" in capsys.readouterr().err
    (tmp_path / "benchmarks").mkdir()  # no saved run: said before any benchmark is timed
    assert verify_main(["bench-gate", "--storage", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("verify bench-gate: error: benchmark storage folder")
