"""``verify claims-diff``: the claims whose verdict, observation or worst error changed, and the
environment every claims report records."""

from __future__ import annotations

import json

from verify import claims_diff, environment
from verify import claims_report as report
from verify.cli import main


def claim(claim_id="SCE-1", status="matches", observed="holds [f64 f32]", ratio=0.5, absolute=1e-9):
    return {
        "id": claim_id,
        "family": "f",
        "statement": "s",
        "documented": "holds",
        "observed": {"cpu": observed},
        "status": status,
        "worst_error_ratio": ratio,
        "worst_absolute_error": absolute,
        "details": [],
    }


def claims_report(*claims, torch_version="2.13.0+cpu"):
    env = {"torch": torch_version, "build": "CPU", "python": "3.11", "devices": {"cpu": "x86_64"}}
    return {"devices": ["cpu"], "environment": env, "claims": list(claims)}


def test_unchanged_reports_have_no_changes_even_when_the_last_bits_of_an_error_move():
    a = claims_report(claim(ratio=0.5012, absolute=1.01e-9))
    b = claims_report(claim(ratio=0.4988, absolute=1.04e-9), torch_version="2.14.1")
    assert claims_diff.changes(a, b) == []
    assert "No claim changed" in claims_diff.render_markdown(a, b, [])


def test_verdict_observation_and_worst_error_changes_are_each_listed():
    a = claims_report(claim("SCE-1"), claim("CE-1"), claim("KL-2", ratio=0.1))
    b = claims_report(
        claim("SCE-1", status="deviates", observed="DEVIATES (6/11 failed)"),
        claim("CE-1"),
        claim("KL-2", ratio=0.9),
        torch_version="2.14.1+cu130",
    )
    found = claims_diff.changes(a, b)
    assert [(c.claim, c.what) for c in found] == [
        ("SCE-1", "status"),
        ("SCE-1", "observed on cpu"),
        ("KL-2", "worst error"),
    ]
    text = claims_diff.render_markdown(a, b, found)
    assert "torch 2.13.0+cpu (CPU build)" in text and "torch 2.14.1+cu130" in text
    assert "| SCE-1 | observed on cpu | holds [f64 f32] | DEVIATES (6/11 failed) |" in text


def test_notes_that_only_one_report_has_are_listed_in_any_order():
    a, b = claim("SCE-1"), claim("SCE-1")
    a["details"] = ["clamp gradient at its bounds is 1", "same"]
    b["details"] = ["same", "clamp gradient at its bounds is 0"]
    found = claims_diff.changes(claims_report(a), claims_report(b))
    assert [(c.what, c.before, c.after) for c in found] == [
        ("note", "clamp gradient at its bounds is 1", "-"),
        ("note", "-", "clamp gradient at its bounds is 0"),
    ]


def test_added_and_removed_claims_are_listed():
    found = claims_diff.changes(claims_report(claim("A-1")), claims_report(claim("B-1")))
    assert [(c.claim, c.after) for c in found] == [("A-1", "removed"), ("B-1", "added")]


def test_exit_status_is_0_same_1_changed_2_unreadable(tmp_path, capsys):
    same, changed = tmp_path / "a.json", tmp_path / "b.json"
    same.write_text(json.dumps(claims_report(claim())))
    changed.write_text(json.dumps(claims_report(claim(status="deviates"))))
    assert main(["claims-diff", str(same), str(same)]) == 0
    assert main(["claims-diff", str(same), str(changed), "--markdown", str(tmp_path / "d.md")]) == 1
    assert "| SCE-1 | status | matches | deviates |" in (tmp_path / "d.md").read_text()
    (tmp_path / "bad.json").write_text("{}")
    capsys.readouterr()
    assert main(["claims-diff", str(same), str(tmp_path / "bad.json")]) == 2
    assert main(["claims-diff", str(same), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "is not a `verify claims --json` report" in err and "Traceback" not in err


def test_claims_report_records_where_it_ran():
    rows = report.summarize([], ("cpu", "cuda"))
    data = json.loads(report.to_json(rows, ("cpu", "cuda"), environment.describe(["cpu", "cuda"])))
    recorded = data["environment"]
    assert recorded["torch"]
    assert recorded["build"] == "CPU" or recorded["build"].startswith(("CUDA", "ROCm"))
    assert set(recorded["devices"]) == {"cpu", "cuda"}
    assert environment.one_line(recorded).startswith(f"torch {recorded['torch']} (")
    assert environment.one_line(None) == "environment not recorded"
