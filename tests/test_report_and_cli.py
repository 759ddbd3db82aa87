"""The claims report (``verify.claims_report``) and the ``verify`` command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from verify import claims, cli
from verify import claims_report as report


def result(claim_id, device, outcome, dtype="float64", message="", notes=(), ratio=0.5):
    return {
        "nodeid": f"specs/test_x.py::test[{device}-{dtype}]",
        "claims": [claim_id],
        "device": device,
        "dtype": dtype,
        "outcome": outcome,
        "message": message,
        "observation": {
            "worst_ratio": ratio,
            "worst_abs": 1e-9,
            "worst_rel": 1e-9,
            "comparisons": 1,
            "notes": list(notes),
        },
    }


def row_of(rows, claim_id):
    return next(r for r in rows if r.claim.id == claim_id)


def test_passing_specs_observe_the_documented_verdict_per_device():
    results = [
        result("BCE-8", "cpu", "passed", notes=["p→0 with y = 1: loss 100"]),
        result("BCE-8", "cpu", "passed", dtype="float32", ratio=0.9),
        result("BCE-8", "cuda", "skipped", message="CUDA not available"),
    ]
    row = row_of(report.summarize(results, ("cpu", "cuda")), "BCE-8")
    assert row.observed == {"cpu": "refuted [f64 f32]", "cuda": "skipped: CUDA not available"}
    assert row.status == "matches"
    assert row.worst_ratio == 0.9
    assert row.details == ["p→0 with y = 1: loss 100"]


def test_a_failure_makes_the_claim_deviate_and_is_shown():
    results = [
        result("CE-1", "cpu", "passed"),
        result("CE-1", "cpu", "failed", dtype="float32", message="CrossEntropyLoss value differs"),
    ]
    row = row_of(report.summarize(results, ("cpu",)), "CE-1")
    assert row.observed["cpu"] == "DEVIATES (1/2 failed)"
    assert row.status == "deviates"
    assert "CrossEntropyLoss value differs" in row.details[0]


def test_claims_without_specs_are_listed_as_such():
    rows = report.summarize([], ("cpu", "cuda"))
    assert len(rows) == len(claims.CATALOGUE)
    assert {r.status for r in rows} == {"no spec"}
    assert "0 claims match" in report.summary_line(rows)


def test_renderings_carry_every_claim():
    rows = report.summarize([result("KL-2", "cpu", "passed")], ("cpu",))
    text, markdown = report.render_text(rows, ("cpu",)), report.render_markdown(rows, ("cpu",))
    data = json.loads(report.to_json(rows, ("cpu",)))
    for claim in claims.CATALOGUE:
        assert claim.id in text and f"| {claim.id} |" in markdown
    assert [c["id"] for c in data["claims"]] == [c.id for c in claims.CATALOGUE]
    assert row_of(rows, "KL-2").observed["cpu"] in markdown


def run_verify(capfd: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """``verify`` run in this process (``verify claims`` still runs pytest in its own), with
    its exit status, stdout and stderr: a ``verify`` process would cost seconds of CPU more.
    ``tests/test_check.py`` runs the command itself."""
    capfd.readouterr()
    status = cli.main(list(arguments))
    out, err = capfd.readouterr()
    return status, out, err


def write_spec(directory: Path, body: str) -> Path:
    directory.mkdir()
    (directory / "test_spec.py").write_text(textwrap.dedent(body))
    return directory


SPECS = """
    import pytest

    @pytest.mark.claim("WD-3")
    def test_refuted(device):
        pass

    @pytest.mark.claim("WD-1")
    def test_holds(device):
        assert False
"""


def test_verify_claims_exit_status_and_outputs(tmp_path, capfd, monkeypatch):
    """One run (``verify claims`` runs pytest in a process of its own: seconds of CPU): WD-3's
    spec passes, as its documented verdict expects; WD-1's fails, which makes the run fail."""
    monkeypatch.chdir(tmp_path)
    specs = write_spec(tmp_path / "specs", SPECS)
    outputs = tmp_path / "claims.json", tmp_path / "claims.md"
    returncode, stdout, stderr = run_verify(
        capfd,
        "claims",
        "--specs",
        str(specs),
        "--workers",
        "0",
        "--json",
        str(outputs[0]),
        "--markdown",
        str(outputs[1]),
    )
    assert returncode == 1, stderr
    rows = {line.split()[0]: line for line in stdout.splitlines() if line.startswith("WD-")}
    assert "refuted" in rows["WD-3"] and "DEVIATES" in rows["WD-1"], stdout
    assert "no spec" in stdout  # the other claims, listed
    assert json.loads(outputs[0].read_text())["claims"][0]["id"] == "CE-1"
    assert "| WD-3 |" in outputs[1].read_text()


def test_verify_claims_exits_0_when_every_verdict_matches(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a spec without a device argument: its run imports no torch
    matching = SPECS.split('@pytest.mark.claim("WD-1")')[0].replace("(device)", "()")
    specs = write_spec(tmp_path / "specs", matching)
    status, stdout, stderr = run_verify(capfd, "claims", "--specs", str(specs), "--workers", "0")
    assert status == 0, stdout + stderr


def test_verify_claims_fails_when_no_spec_is_collected(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    specs = write_spec(tmp_path / "specs", "x = 1\n")
    assert run_verify(capfd, "claims", "--specs", str(specs), "--workers", "0")[0] == 1


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capfd):
    # An exception escaping main() would fail this test as it would print a traceback.
    status, _, err = run_verify(capfd, "claims", "--specs", str(tmp_path / "missing"))
    assert status == 2
    assert err.strip().count("\n") == 0
    assert "does not exist" in err and "Traceback" not in err


def test_readme_claims_table_is_generated_from_the_catalogue():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert readme == claims.readme_with_table(readme), (
        "README claims table is out of date: run `python -m verify.claims --update README.md`"
    )
