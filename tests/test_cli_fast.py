"""The ``verify`` command answers at once: help, the contract listing and usage errors import
neither torch nor SciPy, and input is checked (exit 2, one line) before any work starts; the
pytest plugin, loaded by every pytest run, imports neither either.

Speed is asserted through what gets imported, never through a timed assert.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify import devices, listing, preflight
from verify.benchmarking import cases, options

ROOT = Path(__file__).parents[1]
HEAVY = ("torch", "scipy", "verify.conformance", "verify.benchmarking.bench")

# Runs the command in a fresh interpreter, then says which heavy modules it imported.
PROBE = """
import sys
from verify import cli
try:
    status = cli.main(sys.argv[1:])
except SystemExit as exit:  # argparse: --help, or its own usage errors
    status = exit.code
heavy = [m for m in {heavy!r} if m in sys.modules]
print("IMPORTED:", ",".join(heavy), file=sys.stderr)
sys.exit(status)
"""


def run_cli(*arguments: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )


def split_probe(stderr: str) -> tuple[list[str], list[str]]:
    """The command's own stderr lines, and the heavy modules it imported."""
    lines = stderr.strip().splitlines()
    imported = lines[-1].removeprefix("IMPORTED:").strip()
    return lines[:-1], [m for m in imported.split(",") if m]


@pytest.mark.parametrize(
    "arguments",
    [["--help"], ["contracts"], ["check", "--help"], ["claims", "--help"], ["bench", "--help"]],
    ids=" ".join,
)
def test_help_and_listing_import_nothing_heavy(arguments):
    done = run_cli(*arguments)
    assert done.returncode == 0, done.stderr
    _, imported = split_probe(done.stderr)
    assert imported == []


def test_the_pytest_plugin_imports_nothing_heavy():
    """Every pytest run where loss-verify is installed loads the plugin: a run of tests that use
    none of its fixtures must not pay for torch."""
    probe = f"import sys, verify.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_contract_listing_names_every_contract_and_feature():
    done = run_cli("contracts")
    for name, contract in listing.load().items():
        assert f"{name}: {contract['summary']}" in done.stdout
        for feature in contract["features"] or []:
            assert feature in done.stdout


def test_contract_listing_is_generated_from_the_contracts():
    assert listing.load() == listing.generate(), (
        "verify/contracts.json is stale: run `python -m verify.listing --update`"
    )


def test_torch_free_names_agree_with_verify_devices():
    assert preflight.DEVICE_NAMES == devices.DEVICES
    assert tuple(devices.dtype_name(d) for d in devices.FLOATING_DTYPES) == preflight.DTYPE_NAMES
    assert cases.MODES is options.MODES


EXAMPLE = "examples/kl_batchmean.py:kl_div"
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["check", EXAMPLE, "--contract", "focal"], "unknown contract 'focal'"),
        (["check", EXAMPLE, "--contract", "kl_div", "--supports", "nope"], "unknown feature"),
        (["check", EXAMPLE, "--contract", "kl_div", "--device", "cuda"], "--device cuda"),
        (["check", EXAMPLE, "--contract", "kl_div", "--json", "/no/such/dir/r.json"],
         "folder /no/such/dir does not exist"),
        (["check", EXAMPLE, "--contract", "kl_div", "--markdown", "."], "is a directory"),
        (["check", EXAMPLE, "--contract", "kl_div", "--known-deviations", "missing.txt"],
         "no such file"),
        (["check", "missing/file.py:fn", "--contract", "kl_div"], "no such file"),
        (["check", "no_such_module:fn", "--contract", "kl_div"], "cannot import no_such_module"),
        (["claims", "--device", "cuda"], "--device cuda"),
        (["claims", "--json", "/no/such/dir/x.json"], "folder /no/such/dir does not exist"),
        (["claims", "--workers", "many"], "--workers many"),
        (["bench", "torch.nn.functional:mse_loss", "--contract", "mse_loss", "--device", "cuda"],
         "--device cuda"),
        (["bench", "torch.nn.functional:mse_loss", "--contract", "nope"], "unknown contract"),
        (["bench-table", "results.json", "-o", "/no/such/dir/t.md"], "does not exist"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_exit_2_before_any_heavy_import(arguments, message):
    done = run_cli(*arguments, **NO_GPU)
    lines, imported = split_probe(done.stderr)
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and message in lines[0], lines
    assert lines[0].startswith(f"verify {arguments[0]}: error: ")
    assert "Traceback" not in done.stderr
    assert imported == []


def test_argparse_errors_are_exit_2_without_heavy_imports():
    done = run_cli("check", EXAMPLE, "--contract", "kl_div", "--dtype", "int8")
    assert done.returncode == 2
    assert "invalid choice: 'int8'" in done.stderr
    assert split_probe(done.stderr)[1] == []


def test_absent_device_is_a_usage_error_even_when_torch_is_asked(monkeypatch, tmp_path):
    """With a GPU driver present but no CUDA device usable, torch decides: still exit 2."""
    monkeypatch.setattr(preflight, "_GPU_DRIVER_FILES", (str(tmp_path),))
    monkeypatch.setattr(devices, "is_available", lambda device: device == "cpu")
    with pytest.raises(preflight.UsageError, match="--device cuda: CUDA not available"):
        preflight.device("cuda")


def test_output_path_must_be_writable(tmp_path):
    preflight.output_path("--json", str(tmp_path / "report.json"))
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root may write anywhere
        pytest.skip("running as a user who may write to read-only folders")
    with pytest.raises(preflight.UsageError, match="not writable"):
        preflight.output_path("--json", str(locked / "report.json"))
