"""TARGET strings resolve from the current directory, as ``python -m`` does, whatever the
command (``verify``, the ``pytest`` script): a package folder beside the user works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from verify.loading import load_target

LOSSES = """
import torch.nn.functional as F


def cross_entropy(input, target, **params):
    return F.cross_entropy(input, target, **params)
"""


def make_package(folder: Path) -> None:
    package = folder / "my_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "losses.py").write_text(textwrap.dedent(LOSSES))


def test_a_package_in_the_current_directory_is_found(tmp_path, monkeypatch):
    make_package(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_package", raising=False)
    monkeypatch.delitem(sys.modules, "my_package.losses", raising=False)
    assert load_target("my_package.losses:cross_entropy").__name__ == "cross_entropy"
    assert str(tmp_path) not in sys.path  # the search path is left as it was


def test_the_pytest_script_finds_it_too(tmp_path):
    """The README's `pytest --pyargs specs --impl NAME=my_package.losses:attr` line: the
    `pytest` script, unlike `python -m pytest`, does not put the current directory on the
    path. Only collection is run here, of one spec module that takes ``cross_entropy``: the
    option is parsed and the target loaded."""
    make_package(tmp_path)
    pytest_script = Path(sys.executable).with_name("pytest")
    done = subprocess.run(
        [str(pytest_script), "--pyargs", "specs.test_cross_entropy", "--collect-only", "-q",
         "-p", "no:cacheprovider", "--impl", "cross_entropy=my_package.losses:cross_entropy"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "-impl-" in done.stdout  # test ids of the user implementation
