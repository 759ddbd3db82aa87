"""``verify check`` on untrusted code: whatever the implementation does, the run completes with
a whole report, the misbehaviour named, and a non-zero exit (``tests/misbehaving.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from verify import check, check_report, conformance
from verify.conformance.plan import plan
from verify.suites import SUITES

MISBEHAVING = Path(__file__).parent / "misbehaving.py"
QUICK = {"dtypes": (torch.float64,), "profile": "dev", "claims": False, "call_timeout": 3.0}
CHECKS = len(plan(SUITES["cross_entropy"], "cpu", torch.float64))


def run(name: str, **options) -> conformance.Report:
    return check(f"{MISBEHAVING}:{name}", "cross_entropy", **{**QUICK, **options})


def sum_check(report: conformance.Report) -> conformance.CheckResult:
    return next(c for c in report.checks if c.name == "values[reduction=sum]@cpu/float64")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("exits", "SystemExit (sys.exit(0))"),
        ("interrupts", "raised KeyboardInterrupt"),
        ("exits_hard", "the worker process exited with status 0"),
        ("segfaults", "the worker process killed by signal SIGSEGV"),
        ("hangs", "timed out: a call took longer than 3 s"),
        ("floods", "timed out"),
    ],
)
def test_a_crash_or_hang_fails_its_check_and_the_run_goes_on(name, message):
    report = run(name)
    assert report.verdict == "deviates", check_report.render_text(report)
    assert len(report.checks) == CHECKS
    broken = sum_check(report)
    assert broken.status == "error" and message in broken.message, broken
    assert {c.status for c in report.checks if c is not broken} == {"passed"}


def test_a_flood_of_output_is_kept_as_a_bounded_excerpt():
    report = run("floods")
    assert report.output["bytes"] > 10_000
    assert len(report.output["excerpt"]) < 5000 and "bytes omitted" in report.output["excerpt"]


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("sets_default_dtype", "default dtype: torch.float32 → torch.float64"),
        ("seeds", "CPU random number generator state changed"),
        ("deterministic", "deterministic algorithms: (False, False) → (True, False)"),
        ("no_grad_mode", "grad mode: True → False"),
        ("sets_threads", "number of threads"),
    ],
)
def test_a_global_state_change_is_named_and_does_not_leak(name, changed):
    report = run(name, call_timeout=60.0)  # the first use_deterministic_algorithms takes ~20 s
    broken = sum_check(report)
    assert broken.status == "failed" and changed in broken.message, broken
    assert report.verdict == "deviates"
    later = [c for c in report.checks if c.name.startswith(("edge[empty_batch]", "gradcheck"))]
    assert {c.status for c in later} == {"passed"}  # restored: later checks are unaffected


def test_a_loss_that_overwrites_its_callers_input_deviates():
    report = run("overwrites_its_input")
    assert report.verdict == "deviates"
    assert "wrote into its caller's input" in report.checks[0].message


def test_declining_one_value_declines_that_value_only():
    report = run("declines_none", dtypes=(torch.float64, torch.float32))
    assert report.unsupported == ["reduction=none"], check_report.render_text(report)
    for dtype in ("float64", "float32"):
        core = [
            c
            for c in report.checks
            if c.name in (f"values[core]@cpu/{dtype}", f"non_contiguous@cpu/{dtype}")
        ]
        assert {c.status for c in core} == {"passed"}
    assert report.verdict == "conforms on the features it supports"


def test_an_honest_implementation_that_declines_features_conforms_claims_included():
    report = run("declines_features", claims=True, profile="ci")
    claims = [c for c in report.checks if c.name.startswith("claim[")]
    assert claims and not [c for c in claims if c.status in ("failed", "error")], (
        check_report.render_text(report)
    )
    assert any(c.status == "unsupported" for c in claims)
    assert report.verdict == "conforms on the features it supports"
    assert not any("0x" in c.name for c in claims)  # stable names: no memory addresses


def test_a_compiled_builtin_conforms():
    report = run("compiled", call_timeout=120.0)
    assert report.verdict == "conforms", check_report.render_text(report)


def test_the_command_never_exits_0_for_a_crash(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "verify.cli",
            "check",
            f"{MISBEHAVING}:exits_hard",
            "--contract",
            "cross_entropy",
            "--dtype",
            "float64",
            "--profile",
            "dev",
            "--no-claims",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "deviates" and len(report["checks"]) == CHECKS


def test_the_command_line_states_the_default_call_timeout():
    from verify.cli import build_parser

    check_parser = build_parser()._subparsers._group_actions[0].choices["check"]
    help_text = check_parser.format_help()
    assert f"(default: {conformance.DEFAULT_CALL_TIMEOUT_S:g})" in " ".join(help_text.split())
