"""``verify check`` on untrusted code: whatever the implementation does, the run completes with
a whole report, the misbehaviour named, and a non-zero exit (``tests/misbehaving.py``)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.misbehaving import MISBEHAVIOURS
from verify import check, check_report, conformance
from verify.conformance.plan import plan
from verify.contracts import CONTRACTS

# One worker process per test file under xdist: the shared report is made once.
pytestmark = pytest.mark.xdist_group("isolation")

MISBEHAVING = Path(__file__).parent / "misbehaving.py"
QUICK = {"dtypes": (torch.float64,), "profile": "dev", "claims": False, "call_timeout": 3.0}
CHECKS = [c.name for c in plan(CONTRACTS["cross_entropy"].conformance, "cpu", torch.float64)]
WHERE = "@cpu/float64"


def run(name: str, **options) -> conformance.Report:
    return check(f"{MISBEHAVING}:{name}", "cross_entropy", **{**QUICK, **options})


@functools.cache
def one_of_each_report() -> conformance.Report:
    """Made once per process (a module fixture would be made again whenever xdist interleaves
    another module's tests on this worker)."""
    return run("one_of_each")


@pytest.fixture
def one_of_each() -> conformance.Report:
    return one_of_each_report()


def by_name(report: conformance.Report) -> dict[str, conformance.CheckResult]:
    return {c.name.removesuffix(WHERE): c for c in report.checks}


@pytest.mark.parametrize("check_name", sorted(MISBEHAVIOURS))
def test_each_misbehaviour_fails_its_own_check(one_of_each, check_name):
    _, status, message = MISBEHAVIOURS[check_name]
    result = by_name(one_of_each)[check_name]
    assert result.status == status and message in result.message, result


def test_the_run_completes_and_other_checks_are_unaffected(one_of_each):
    assert [c.name for c in one_of_each.checks] == CHECKS  # restarted workers went on
    others = {n: c.status for n, c in by_name(one_of_each).items() if n not in MISBEHAVIOURS}
    assert set(others.values()) == {"passed"}, check_report.render_text(one_of_each)
    assert one_of_each.verdict == "deviates"


def test_a_flood_of_output_is_kept_as_a_bounded_excerpt(one_of_each):
    assert one_of_each.output["bytes"] > 10_000
    excerpt = one_of_each.output["excerpt"]
    assert len(excerpt) < 5000 and "bytes omitted" in excerpt


def test_turning_on_deterministic_algorithms_is_named():
    report = run("deterministic", call_timeout=60.0)  # its first use takes seconds
    first = by_name(report)["values[core]"]
    assert first.status == "failed", first
    assert "deterministic algorithms: (False, False) → (True, False)" in first.message


def test_declining_one_value_declines_that_value_only():
    report = run("declines_none", dtypes=(torch.float64, torch.float32))
    assert report.unsupported == ["reduction=none"], check_report.render_text(report)
    names = [
        f"{check}@cpu/{dtype}"
        for check in ("values[core]", "non_contiguous")
        for dtype in ("float64", "float32")
    ]
    assert {c.status for c in report.checks if c.name in names} == {"passed"}
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
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "deviates" and len(report["checks"]) == len(CHECKS)


def test_the_command_line_states_the_default_call_timeout():
    from verify.cli import build_parser

    check_parser = build_parser()._subparsers._group_actions[0].choices["check"]
    help_text = check_parser.format_help()
    assert f"(default: {conformance.DEFAULT_CALL_TIMEOUT_S:g})" in " ".join(help_text.split())
