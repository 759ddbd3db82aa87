"""Seeds: ``--hypothesis-seed`` is honoured under every profile (``ci`` is derandomized and
would ignore it), a run of a random profile shows its seed and prints it on failure, and
derandomized draws do not depend on which modules happen to be imported."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DRAWING = """
import os

from hypothesis import given, strategies as st


@given(st.integers(0, 10**9))
def test_draws(x):
    with open(os.environ["VERIFY_TEST_DRAWS"], "a") as file:
        file.write(f"{x}\\n")
    assert os.environ.get("VERIFY_TEST_FAIL") is None
"""


def draws(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *options: str) -> list[str]:
    path = pytester.path / "draws.txt"
    path.unlink(missing_ok=True)
    monkeypatch.setenv("VERIFY_TEST_DRAWS", str(path))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return path.read_text().split()


def test_seed_is_honoured_under_the_derandomized_ci_profile(pytester, monkeypatch):
    pytester.makepyfile(test_spec=DRAWING)
    ci = ("--hypothesis-profile=ci",)
    first = draws(pytester, monkeypatch, *ci, "--hypothesis-seed=1")
    assert draws(pytester, monkeypatch, *ci, "--hypothesis-seed=1") == first
    assert draws(pytester, monkeypatch, *ci, "--hypothesis-seed=2") != first


def test_random_profile_shows_its_seed_and_prints_it_on_failure(pytester, monkeypatch):
    pytester.makepyfile(test_spec=DRAWING)
    monkeypatch.setenv("VERIFY_TEST_DRAWS", str(pytester.path / "draws.txt"))
    monkeypatch.setenv("VERIFY_TEST_FAIL", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hypothesis-profile=random")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    seed = re.search(r"hypothesis profile 'random', seed (\d+)", output).group(1)
    assert f"rerun with --hypothesis-seed={seed} --hypothesis-profile=random" in output


def _derandomized_draws() -> list[float]:
    drawn: list[float] = []

    @settings(derandomize=True, database=None, max_examples=200)
    @given(st.floats(allow_nan=False))
    def collect(x):
        drawn.append(x)

    collect()
    return drawn


def test_derandomized_draws_do_not_depend_on_the_modules_imported(tmp_path, monkeypatch):
    """A local module imported between two runs (as an implementation under test is) leaves
    the examples as they were: Hypothesis' pool of local constants is kept empty."""
    before = _derandomized_draws()
    (tmp_path / "probe_constants.py").write_text("ODD = 7654.0321\nODDER = -1.25e-33\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("probe_constants")
    assert _derandomized_draws() == before


def test_derandomized_draws_do_not_depend_on_where_the_specs_are(pytester, monkeypatch):
    """The same parametrized spec collected from another rootdir (as the installed ``specs``
    package is, beside a checkout) draws the same examples: its key is module and name, not
    the node id's path."""
    package = pytester.mkpydir("pkg")
    (package / "test_spec.py").write_text(
        DRAWING.replace("@given", '@pytest.mark.parametrize("k", [1])\n@given')
        .replace("def test_draws(x)", "def test_draws(k, x)")
        .replace("import os\n", "import os\n\nimport pytest\n")
    )
    ci = ("--hypothesis-profile=ci", str(package / "test_spec.py"))
    from_top = draws(pytester, monkeypatch, *ci, f"--rootdir={pytester.path}")
    assert draws(pytester, monkeypatch, *ci, f"--rootdir={package}") == from_top
