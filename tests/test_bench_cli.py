"""``verify bench``: conformance first, both implementations timed in one run, one-line errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from verify import cli
from verify.benchmarking import bench
from verify.benchmarking.records import load_run

ROOT = Path(__file__).parents[1]
FAST = ["--smoke", "--max-time", "0.02", "--mode", "forward"]
SUMMED_MSE = """
def mse_loss(input, target, reduction="mean"):
    loss = (input - target) ** 2
    return loss.sum() if reduction != "none" else loss  # planted: 'mean' sums
"""


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def _verify(capsys, monkeypatch):
    """Run the ``verify`` command in-process (from the repository root), capturing its output."""
    monkeypatch.chdir(ROOT)

    def run(*arguments: str) -> Done:
        capsys.readouterr()
        status = cli.main(list(arguments))
        out, err = capsys.readouterr()
        return Done(status, out, err)

    return run


def test_conforming_implementation_is_timed_beside_the_builtin(_verify, tmp_path):
    output = tmp_path / "bench.json"
    done = _verify(
        "bench", "torch.nn.functional:mse_loss", "--contract", "mse_loss", *FAST,
        "--json", str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("conformance: ") and "conforms" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| mse_loss-")]
    assert len(rows) == 3 and all("×" in row for row in rows)
    assert all(any(f"| {w} (p = " in row for w in ("same", "slower", "faster")) for row in rows)
    run = load_run(output)
    assert {r.extra["implementation"] for r in run.records} == {
        "torch",
        "torch.nn.functional:mse_loss",
    }
    table = _verify("bench-table", str(output))
    assert table.returncode == 0 and "mse_loss" in table.stdout


def test_deviating_implementation_is_timed_with_a_warning(_verify, tmp_path):
    planted = tmp_path / "summed_mse.py"
    planted.write_text(SUMMED_MSE)
    done = _verify("bench", f"{planted}:mse_loss", "--contract", "mse_loss", *FAST)
    assert done.returncode == 1
    assert done.stdout.startswith("WARNING: ") and "deviates" in done.stdout.splitlines()[0]
    assert "| mse_loss-reg1e6 |" in done.stdout


def test_unsupported_parameters_are_reported_not_failed(_verify):
    done = _verify(
        "bench", "examples/stable_cross_entropy.py:cross_entropy", "--contract",
        "cross_entropy", "--no-check", *FAST,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not checked" in done.stdout.splitlines()[0]
    assert "unsupported (TypeError" in done.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no_such_module:f", "--contract", "mse_loss"], "cannot import"),
        (["torch.nn.functional:mse_loss", "--contract", "softmax"], "no benchmark cases"),
        (["torch.nn.functional:mse_loss", "--contract", "mse_loss", "--max-time", "0"],
         "--max-time"),
        (["torch.nn.functional:mse_loss", "--contract", "mse_loss", "--threshold", "-1"],
         "--threshold"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_exit_2(_verify, arguments, message):
    done = _verify("bench", *arguments)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr


def test_json_is_read_by_the_plot(_verify, tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "bench.json"
    done = _verify(
        "bench", "torch.nn.functional:mse_loss", "--contract", "mse_loss", *FAST,
        "--no-check", "--json", str(output),
    )  # fmt: skip
    assert done.returncode == 0
    picture = tmp_path / "bench.png"
    plotted = _verify("bench-plot", str(output), "-o", str(picture))
    assert plotted.returncode == 0, plotted.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(output.read_text())["machine_info"]["verify_device_kind"]


def test_paired_verdict_sees_a_15_percent_slowdown_through_a_machine_that_drifts_2x():
    rng = np.random.default_rng(0)
    drift = np.exp(rng.uniform(-0.7, 0.7, 40))  # the machine's speed, shared by both rounds
    builtin = 1e-3 * drift * rng.lognormal(0, 0.01, 40)
    target = 1.15e-3 * drift * rng.lognormal(0, 0.01, 40)
    assert stats.mannwhitneyu(target, builtin).pvalue > 0.01  # unpaired: lost in the drift
    verdict, p_value = bench.paired_verdict(list(builtin), list(target))
    assert verdict == "slower" and p_value < 1e-6
    assert bench.paired_verdict(list(target), list(builtin))[0] == "faster"
    same = 1e-3 * drift * rng.lognormal(0, 0.01, 40)
    assert bench.paired_verdict(list(builtin), list(same))[0] == "same"


def test_paired_verdict_calls_a_significant_difference_under_the_threshold_same():
    rng = np.random.default_rng(1)
    builtin = 1e-3 * rng.lognormal(0, 0.01, 40)
    target = 1.05 * builtin * rng.lognormal(0, 0.01, 40)  # 5% slower, every round
    verdict, p_value = bench.paired_verdict(list(builtin), list(target))
    assert verdict == "same" and p_value < 1e-6
    assert bench.paired_verdict(list(builtin), list(target), threshold=0.03)[0] == "slower"


def test_paired_verdict_without_enough_pairs_makes_no_test():
    assert bench.paired_verdict([1.0] * 3, [2.0] * 3) == ("same", None)
    assert bench.paired_verdict([1.0] * 10, [2.0] * 9) == ("same", None)
    assert bench.paired_verdict([1.0] * 10, [1.0] * 10) == ("same", 1.0)
