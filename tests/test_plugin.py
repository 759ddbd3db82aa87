"""The pytest plugin: device and dtype parametrization, implementations, claims, results.

Generated spec files run in a pytest subprocess: an in-process run would import torch twice.
"""

from __future__ import annotations

import json

import pytest
import torch

SPEC = """
import math
import pytest, torch
from verify import recording
from verify.tolerances import assert_close

@pytest.mark.claim("CE-1")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_claim(device, dtype, cross_entropy):
    x = torch.zeros(2, 3, dtype=dtype, device=device)
    assert_close(cross_entropy(x, torch.tensor([0, 1], device=device)),
                 math.log(3), dtype=dtype, what="uniform")
    recording.note("a note")
"""

CUDA_ABSENT = not torch.cuda.is_available()


def test_every_device_is_collected_and_absent_ones_skip_with_reason(pytester):
    """One run of SPEC and of a failing copy of it serves four checks (each run is a pytest
    process, seconds of CPU): every device is collected, ids name device, dtype and form (the
    module form in float64 only), and the results file records outcomes, skips, notes and
    failure messages."""
    pytester.makepyfile(
        test_spec=SPEC,
        test_failing=SPEC.replace("math.log(3), dtype", "1.0, dtype").replace(
            "def test_claim(", "def test_wrong_claim("
        ),
    )
    path = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "-v", "-rs", "-p", "no:cacheprovider", f"--verify-results={path}"
    )
    if CUDA_ABSENT:
        result.assert_outcomes(passed=3, skipped=6, failed=3)
        result.stdout.fnmatch_lines(["verify: devices cpu, cuda (CUDA not available)"])
    else:
        result.assert_outcomes(passed=6, failed=6)
        result.stdout.fnmatch_lines(["verify: devices cpu, cuda"])
    result.stdout.fnmatch_lines(
        [
            "*test_claim[[]cpu-float64-functional[]] *",
            "*test_claim[[]cpu-float64-module[]] *",
            "*test_claim[[]cpu-float32-functional[]] *",
            "*test_claim[[]cuda-float64-functional[]] *",
        ]
    )
    assert "float32-module" not in result.stdout.str()
    _assert_results_recorded(path)


def _assert_results_recorded(path):
    results = {r["nodeid"].split("::")[-1]: r for r in json.loads(path.read_text())}
    passed = results["test_claim[cpu-float64-functional]"]
    assert passed["claims"] == ["CE-1"]
    assert (passed["device"], passed["dtype"], passed["outcome"]) == ("cpu", "float64", "passed")
    assert passed["observation"]["comparisons"] == 1
    assert passed["observation"]["notes"] == ["a note"]
    assert 0.0 <= passed["observation"]["worst_ratio"] <= 1.0
    if CUDA_ABSENT:
        skipped = results["test_claim[cuda-float64-functional]"]
        assert (skipped["outcome"], skipped["message"]) == ("skipped", "CUDA not available")
    failed = [r for name, r in results.items() if name.startswith("test_wrong_claim[cpu")]
    assert len(failed) == 3 and {r["outcome"] for r in failed} == {"failed"}
    assert all("uniform" in r["message"] for r in failed)


def test_device_and_dtype_options_restrict_the_set(pytester, run_pytest):
    pytester.makepyfile(SPEC)
    result = run_pytest(
        "--collect-only", "-q", "-p", "no:cacheprovider", "--device", "cpu", "--dtype", "float32"
    )
    # float64 deselected: the module form runs in the spec's first remaining dtype
    result.stdout.fnmatch_lines(["*[[]cpu-float32-functional[]]", "*[[]cpu-float32-module[]]"])
    assert "cuda" not in result.stdout.str()
    assert "float64" not in result.stdout.str()


def test_explicit_parametrization_of_a_contract_name_wins(pytester, run_pytest):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.parametrize("cross_entropy", [len], ids=["mine"])
        def test_mine(cross_entropy):
            assert cross_entropy is len
        """
    )
    run_pytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_unknown_claim_id_is_a_usage_error(pytester, run_pytest):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.claim("CE-99")
        def test_x():
            pass
        """
    )
    result = run_pytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown claim id(s) CE-99*"])


@pytest.mark.parametrize(
    ("arguments", "environment", "profile"),
    [((), None, "ci"), (("--hypothesis-profile=dev",), None, "dev"), ((), "thorough", "thorough")],
)
def test_hypothesis_profile_selection(pytester, monkeypatch, arguments, environment, profile):
    if environment:
        monkeypatch.setenv("VERIFY_HYPOTHESIS_PROFILE", environment)
    else:
        monkeypatch.delenv("VERIFY_HYPOTHESIS_PROFILE", raising=False)
    # Set as on CI machines: Hypothesis then loads its own derandomized "ci" profile at import,
    # which the project's profiles must not inherit from.
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(
        f"""
        from hypothesis import settings
        def test_profile():
            assert settings.get_current_profile_name() == {profile!r}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)
    result.assert_outcomes(passed=1)
    seed = "" if profile == "ci" else ", seed *"  # a random profile's run shows its seed
    result.stdout.fnmatch_lines([f"verify: hypothesis profile {profile!r}{seed}"])
    assert "verify: devices" not in result.stdout.str()  # nothing collected needed torch


def test_every_package_is_installed():
    """pyproject.toml lists the packages by hand: a new one must be added there."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[1]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        str(p.parent.relative_to(root)).replace("/", ".")
        for top in ("verify", "specs")
        for p in (root / top).rglob("__init__.py")
    }
    assert found <= listed
