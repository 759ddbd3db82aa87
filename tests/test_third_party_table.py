"""THIRD_PARTY.md is what ``verify.adapters.table`` renders from the committed reports, and the
rendering shows every deviation with its counterexample, diagnosis and reproduction.

Cheap: no third-party library is imported (``verify.adapters.registry`` is plain data)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from verify.adapters import table
from verify.adapters.registry import ADAPTERS, REPORTS

ROOT = Path(__file__).resolve().parent.parent


def test_third_party_md_is_up_to_date_with_the_committed_reports():
    rendered = table.render(ROOT / REPORTS)
    current = (ROOT / "THIRD_PARTY.md").read_text()
    assert current == rendered, (
        "THIRD_PARTY.md is out of date with thirdparty/reports/: "
        "run python -m verify.adapters.table"
    )


def test_every_committed_report_is_an_adapter_in_the_registry():
    for directory in (ROOT / REPORTS).iterdir():
        names = {a.name for a in ADAPTERS[directory.name]}
        for path in directory.glob("*.json"):
            assert path.stem == "environment" or path.stem in names, path


def test_registry_imports_no_third_party_library():
    assert not {"kornia", "monai", "timm", "optax", "liger_kernel"} & set(sys.modules)


def environment(tmp_path: Path) -> Path:
    directory = tmp_path / "thirdparty"
    directory.mkdir(parents=True)
    env = {
        "env": "thirdparty",
        "torch": "2.14.1",
        "build": "CUDA 13.0",
        "python": "3.11",
        "devices": {"cpu": "x86_64"},
        "libraries": {"kornia": "0.9.0"},
        "check_args": ["--no-claims"],
        "seconds": {"kornia.focal_loss": 90.0},
    }
    (directory / "environment.json").write_text(json.dumps(env))
    return directory


def deviating_report() -> dict:
    example = {
        "what": "value",
        "device": "cpu",
        "dtype": "float64",
        "input": [[0.0, 1.0]],
        "target": [1],
        "params": {},
        "expected": 0.31,
        "got": 0.16,
        "snippet": "print('reproduce me')",
    }
    failed = {
        "status": "failed",
        "message": "value differs: got 0.16, expected 0.31 (allowed rtol=1e-12)",
        "counterexample": example,
    }
    return {
        "target": "verify.adapters.kornia:focal_loss",
        "contract": "softmax_focal_loss",
        "verdict": "deviates",
        "summary": "",
        "exercised": ["core", "gamma"],
        "unsupported": ["k_dim"],
        "checks": [
            {**failed, "name": "values[core]@cpu/float64"},
            {**failed, "name": "values[core]@cpu/float32"},
            {"name": "values[gamma]@cpu/float64", "status": "passed", "message": ""},
        ],
        "diagnosis": ["values[core]@cpu/float64: matches the reference with sum divided by N·C"],
    }


def test_a_deviation_is_one_line_with_counterexample_convention_and_reproduction(tmp_path):
    directory = environment(tmp_path)
    (directory / "kornia.focal_loss.json").write_text(json.dumps(deviating_report()))
    text = table.render(tmp_path)
    row = next(
        line for line in text.splitlines() if line.startswith("| `kornia.losses.focal_loss`")
    )
    assert "kornia 0.9.0" in row and "**deviates**" in row
    assert "core, gamma; not taken: k_dim" in row
    assert "1. `values[core]` (float64, float32): value differs; counterexample (value" in row
    assert "input [[0.0, 1.0]], target [1], params {}: got 0.16, expected 0.31" in row
    assert "matches instead: sum divided by N·C" in row
    assert "allowed rtol" not in row
    assert "print('reproduce me')" in text
    assert "verify check TARGET --contract NAME --json REPORT --no-claims" in text


def test_a_changed_report_makes_the_committed_table_out_of_date(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(ROOT / REPORTS, reports)
    before = table.render(reports)
    path = next(reports.glob("*/*.*.json"))
    data = json.loads(path.read_text())
    data["verdict"] = "conforms" if data["verdict"] != "conforms" else "deviates"
    path.write_text(json.dumps(data))
    assert table.render(reports) != before
    (tmp_path / "T.md").write_text(before)
    assert table.main(["--reports", str(reports), "-o", str(tmp_path / "T.md"), "--check"]) == 1


def test_the_driver_runs_the_default_verify_check_with_each_adapters_own_options():
    from verify.adapters import run

    liger = next(a for a in ADAPTERS["liger"] if a.name == "liger.cross_entropy")
    assert run.command(liger, Path("r.json"), []) == [
        *("verify", "check", "verify.adapters.liger:cross_entropy", "--contract", "cross_entropy"),
        *("--json", "r.json", "--dtype", "float32", "--dtype", "float16"),
    ]
    names = [a.name for adapters in ADAPTERS.values() for a in adapters]
    assert len(names) == len(set(names)) >= 15
    assert len({a.distribution for adapters in ADAPTERS.values() for a in adapters}) >= 6
