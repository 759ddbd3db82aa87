"""The example outputs shown in README.md, regenerated from the committed reports.

Each example is a command and the report it printed, committed in ``examples/reports/``. In
the README an example sits between ``<!-- example:NAME -->`` and ``<!-- example:end -->``: the
command, then the report's first lines. ``tests/test_readme_examples.py`` fails when a README
block differs from what this module renders from the committed file (a cheap check: no
command is run).

    python -m verify.readme_examples                 # rewrite the README's example blocks
    python -m verify.readme_examples --run NAME ...  # first re-run the commands (minutes),
                                                     # rewriting examples/reports/, then the README
    python -m verify.readme_examples --check         # exit 1 if a block is stale
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def _repository() -> Path:
    """The clone this works on: the checkout holding this file (an editable install), else the
    current directory (an installed package, run from the clone, as tox runs the tests)."""
    checkout = Path(__file__).resolve().parents[1]
    return checkout if (checkout / "README.md").is_file() else Path.cwd()


ROOT = _repository()
README = ROOT / "README.md"
REPORTS = ROOT / "examples" / "reports"


@dataclass(frozen=True)
class Example:
    """A command whose stdout is committed as ``examples/reports/<name>.txt``."""

    name: str
    command: str
    head: int  # the README shows the report's first ``head`` lines
    tail: int = 0  # and its last ``tail`` lines

    @property
    def report(self) -> Path:
        return REPORTS / f"{self.name}.txt"


def _check(name: str, attr: str, contract: str, head: int = 12, tail: int = 0) -> Example:
    """The check that made ``examples/reports/NAME.txt``: the default ``verify check``."""
    return Example(
        name, f"verify check examples/{name}.py:{attr} --contract {contract}", head, tail
    )


EXAMPLES = (
    _check("kl_batchmean", "kl_div", "kl_div", head=12, tail=2),
    _check("stable_cross_entropy", "cross_entropy", "cross_entropy", head=5),
    _check("blog_label_smoothing", "cross_entropy", "cross_entropy"),
    _check("clamped_bce", "binary_cross_entropy", "binary_cross_entropy"),
    _check("naive_cross_entropy", "cross_entropy", "cross_entropy"),
)
BY_NAME = {e.name: e for e in EXAMPLES}
BLOCK = re.compile(r"<!-- example:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- example:end -->", re.S)


def render(example: Example) -> str:
    """The README block of ``example``: its command, then the first lines of its report."""
    lines = example.report.read_text(encoding="utf-8").splitlines()
    left_out = len(lines) - example.head - example.tail
    if left_out > 0:
        where = example.report.relative_to(ROOT)
        tail = lines[len(lines) - example.tail :] if example.tail else []
        lines = [*lines[: example.head], f"  … ({left_out} lines more in {where})", *tail]
    output = "\n".join(lines)
    return f"```sh\n{example.command}\n```\n\n```\n{output}\n```\n"


def updated(readme: str) -> str:
    """``readme`` with every example block rendered anew (ValueError for an unknown name)."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in BY_NAME:
            raise ValueError(f"README example {name!r} is not in verify.readme_examples.EXAMPLES")
        return f"<!-- example:{name} -->\n{render(BY_NAME[name])}<!-- example:end -->"

    return BLOCK.sub(replace, readme)


def shown_names(readme: str) -> list[str]:
    """The examples the README shows, in order."""
    return [m["name"] for m in BLOCK.finditer(readme)]


def rerun(example: Example) -> None:
    """Run the example's command from the repository root and commit its stdout as the report
    (its exit status is the verdict's, 0 or 1; anything else is an error)."""
    done = subprocess.run(
        [sys.executable, "-m", "verify.cli", *shlex.split(example.command)[1:], "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{example.command}: exit {done.returncode}: {done.stderr.strip()}")
    example.report.write_text(done.stdout, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.readme_examples")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    parser.add_argument("--run", nargs="+", metavar="NAME", choices=[*BY_NAME, "all"])
    args = parser.parse_args(argv)
    for name in BY_NAME if args.run and "all" in args.run else args.run or []:
        print(f"running: {BY_NAME[name].command}", file=sys.stderr)
        rerun(BY_NAME[name])
    readme = README.read_text(encoding="utf-8")
    fresh = updated(readme)
    if args.check:
        if fresh != readme:
            print("README example outputs are stale: run `python -m verify.readme_examples`")
        return int(fresh != readme)
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
