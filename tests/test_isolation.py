"""``verify check`` on untrusted code: whatever the implementation does, the run completes with
a whole report, the misbehaviour named, and a non-zero exit (``tests/misbehaving.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.misbehaving import MISBEHAVIOURS
from verify import check, check_report, conformance
from verify.cli import main
from verify.conformance import worker
from verify.conformance.plan import plan
from verify.contracts import CONTRACTS

MISBEHAVING = Path(__file__).parent / "misbehaving.py"
QUICK = {"dtypes": (torch.float64,), "profile": "dev", "claims": False, "call_timeout": 3.0}
CHECKS = [c.name for c in plan(CONTRACTS["cross_entropy"].conformance, "cpu", torch.float64)]
WHERE = "@cpu/float64"


def run(name: str, **options) -> conformance.Report:
    return check(f"{MISBEHAVING}:{name}", "cross_entropy", **{**QUICK, **options})


def by_name(report: conformance.Report) -> dict[str, conformance.CheckResult]:
    return {c.name.removesuffix(WHERE): c for c in report.checks}


def test_each_misbehaviour_fails_its_own_check_and_the_command_exits_1(tmp_path):
    """One run of ``verify check`` (its ``main``, whose return is the process's exit status; the
    run takes seconds of worker restarts, so it is made once): every misbehaviour fails its own
    check with its own message, the checks after each went on in a fresh worker, every other
    check passes, the flood of output is kept as a bounded excerpt, and a run in which the
    implementation ended its worker with ``os._exit(0)`` never exits 0."""
    out = tmp_path / "report.json"
    status = main(
        ["check", f"{MISBEHAVING}:one_of_each", "--contract", "cross_entropy", "--dtype",
         "float64", "--profile", "dev", "--no-claims", "--call-timeout", "3", "--json", str(out)]
    )  # fmt: skip
    report = json.loads(out.read_text())
    results = {c["name"].removesuffix(WHERE): c for c in report["checks"]}
    wrong = [
        f"{name}: got {results[name]['status']} {results[name]['message']!r}, "
        f"expected {status} with {message!r}"
        for name, (_, status, message) in sorted(MISBEHAVIOURS.items())
        if not (results[name]["status"] == status and message in results[name]["message"])
    ]
    assert not wrong, "\n".join(wrong)
    assert [c["name"] for c in report["checks"]] == CHECKS  # restarted workers went on
    others = {n: c["status"] for n, c in results.items() if n not in MISBEHAVIOURS}
    assert set(others.values()) == {"passed"}, others
    assert (status, report["verdict"]) == (1, "deviates")
    assert report["output"]["bytes"] > 10_000
    excerpt = report["output"]["excerpt"]
    assert len(excerpt) < 5000 and "bytes omitted" in excerpt


def test_after_the_restart_limit_the_remaining_checks_are_not_run(monkeypatch):
    """An implementation that kills every worker is not restarted without end: after
    ``MAX_RESTARTS`` restarts (1 here, to start two workers only) the rest is an error each."""
    monkeypatch.setattr(worker, "MAX_RESTARTS", 1)
    results = by_name(run("always_exits"))
    crashed = [n for n, c in results.items() if "exited with status 3" in c.message]
    not_run = [n for n, c in results.items() if "restarted 1 times" in c.message]
    assert len(crashed) == 2 and len(not_run) == len(CHECKS) - 2, results
    assert {results[n].status for n in crashed + not_run} == {"error"}


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


def test_declining_values_of_a_feature_leaves_claim_cases_with_them_unsupported():
    """No feature is declined whole, so a declined claim case is no refusal of a supported one."""
    report = run("declines_strong_smoothing", claims=True, profile="ci")  # the same draws each run
    claims = [c for c in report.checks if c.name.startswith("claim[")]
    assert {c.status for c in claims} == {"passed", "unsupported"}, check_report.render_text(report)
    assert report.verdict == "conforms on the features it supports"


def test_an_honest_implementation_that_declines_features_conforms_claims_included():
    report = run("declines_features", claims=True, profile="ci")
    claims = [c for c in report.checks if c.name.startswith("claim[")]
    assert claims and not [c for c in claims if c.status in ("failed", "error")], (
        check_report.render_text(report)
    )
    assert any(c.status == "unsupported" for c in claims)
    assert "probability_targets" in report.unsupported  # declined by nll_loss's RuntimeError
    assert report.verdict == "conforms on the features it supports"
    assert not any("0x" in c.name for c in claims)  # stable names: no memory addresses


def test_a_compiled_builtin_conforms():
    report = run("compiled", call_timeout=120.0)
    assert report.verdict == "conforms", check_report.render_text(report)


def test_the_command_line_states_the_default_call_timeout():
    from verify.cli import build_parser

    check_parser = build_parser()._subparsers._group_actions[0].choices["check"]
    help_text = check_parser.format_help()
    assert f"(default: {conformance.DEFAULT_CALL_TIMEOUT_S:g})" in " ".join(help_text.split())
