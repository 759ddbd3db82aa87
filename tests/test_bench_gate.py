"""The benchmark suites end to end (``tox`` runs every benchmark once, on tiny shapes): a saved
run, the comparison (``verify bench-compare``) and the gate (``verify bench-gate``) catching a
planted slowdown, and the gate clearing a slowdown that does not reproduce when re-timed.

The benchmarks run on their smoke shapes (a 64-element MSE) and the slowdown planted here is a
50 ms sleep per call, far beyond what the load of the machine running the tests does to the
baseline (on 2 cores busy with other sessions: 0.009 ms forward, 0.054 ms forward+backward; the
10⁶-element MSE this test used before ranged 0.3 to 8 ms under load, which once hid a 200 ms
sleep behind the 30× threshold): the test checks the pipeline, not the gate's sensitivity.
That, at the 10% threshold and on reruns of unchanged code, is shown on synthetic samples in
``tests/test_bench_compare.py`` and measured in ``benchmarks/results/``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify.benchmarking import gate
from verify.benchmarking.compare import Comparison
from verify.benchmarking.workloads import REGRESSION
from verify.cli import main as verify_main

ROOT = Path(__file__).parents[1]
PLANTED_MSE = """
import time
from pathlib import Path
import torch.nn.functional as F

MARKER = Path(__file__).with_suffix(".timed")
FIRST = not MARKER.exists()  # the first process to import this, not the gate's re-timing
MARKER.touch()


def mse_loss(input, target, reduction="mean"):
    if input.requires_grad or FIRST:  # forward+backward: slow in every process; forward: once
        time.sleep(0.05)
    return F.mse_loss(input, target, reduction=reduction)
"""
CASE = "mse_loss-reg1e6 and cpu and float32"  # forward, and forward+backward
GATE_THRESHOLD = 30
"""The end-to-end gate fails only beyond 31×: the sleep makes a call 50 ms slower, over 900× the
slower mode's baseline (0.054 ms), while an unchanged MSE re-timed under load must not fail it
(its forward mode re-timed: 0.0094 ms against a 0.0086 ms baseline)."""
OPTIONS = ("-q", "-k", CASE, "--bench-smoke", "--benchmark-max-time=0.2")


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


def _gate(tmp_path: Path, baseline: Path, implementation: Path, capsys) -> tuple[int, str]:
    """``verify bench-gate`` in this process; its timed runs are pytest processes, started in the
    project root without xdist's worker variables (see ``_outside_xdist``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        for name in os.environ:
            if name.startswith("PYTEST_XDIST"):
                patch.delenv(name)
        status = verify_main(
            ["bench-gate", "--baseline", str(baseline), "--threshold", str(GATE_THRESHOLD),
             "--recheck", "1", "--out", str(tmp_path / "gate"), "--", *OPTIONS,
             f"--bench-impl=mse_loss={implementation}:mse_loss", "--bench-only-impl",
             f"--benchmark-storage=file://{tmp_path / 'storage'}"]
        )  # fmt: skip
    return status, capsys.readouterr().out


def test_a_planted_slowdown_fails_the_comparison_and_the_gate_keeps_only_what_reproduces(
    tmp_path, capsys
):
    """One test, so that its timed runs (pytest processes: seconds of CPU each) are made once:
    the saved run of the unchanged MSE is the baseline; the planted MSE is 50 ms slower in both
    modes when first timed, but only its forward+backward mode stays slow when the gate re-times
    it, so the gate confirms that regression, clears the other, and fails; ``bench-compare`` of
    the gate's first timing against the baseline fails, of the baseline against itself passes."""
    baseline = _benchmark(tmp_path / "baseline", "baseline")
    entries = {e["params"]["mode"]: e for e in json.loads(baseline.read_text())["benchmarks"]}
    elements = math.prod(REGRESSION.shape("smoke"))
    assert entries["forward"]["extra_info"]["min_bytes"] == 2 * elements * 4 + 4
    assert all(len(e["stats"]["data"]) >= 10 for e in entries.values())

    planted = tmp_path / "planted_mse.py"
    planted.write_text(PLANTED_MSE)
    status, output = _gate(tmp_path, baseline, planted, capsys)
    assert status == 1, output
    assert "confirmed by 1 re-measurement" in output
    assert "not confirmed:" in output and "1 of 2 regression(s) not confirmed" in output
    assert (tmp_path / "gate" / "bench-recheck-1.json").is_file()
    status, output = _compare(tmp_path / "gate" / "bench-current.json", baseline, capsys)
    assert status == 1 and "regression" in output, output
    assert _compare(baseline, baseline, capsys)[0] == 0


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
