"""What the README shows is what the commands print and accept (cheap: no check is run).

- Each example block is rendered from its committed report in ``examples/reports/``
  (``python -m verify.readme_examples`` rewrites the blocks; ``--run NAME`` re-runs a command).
- Every ``verify ...`` command line in the README parses with the ``verify`` parser.
- Every keyword the README passes to ``assert_conforms`` is an option of ``verify.check``.
"""

from __future__ import annotations

import inspect
import re
import shlex

import pytest

from verify import cli, conformance, readme_examples

README = readme_examples.README.read_text(encoding="utf-8")


def test_example_outputs_are_the_committed_reports():
    assert readme_examples.updated(README) == README, (
        "README example outputs are stale: run `python -m verify.readme_examples`"
    )


def test_every_report_has_its_command_and_the_readme_shows_one():
    reports = sorted(p.stem for p in readme_examples.REPORTS.glob("*.txt"))
    assert reports == sorted(readme_examples.BY_NAME)
    assert readme_examples.shown_names(README)


def test_a_stale_block_is_detected():
    stale = README.replace("deviates (", "conforms (", 1)
    assert readme_examples.updated(stale) == README


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def verify_command_lines() -> list[str]:
    lines = [
        line.split("#")[0].strip() for block in shell_blocks(README) for line in block.splitlines()
    ]
    # Inline code: command lines, not mentions of a command ("`verify check` prints ...").
    inline = [" ".join(c.split()) for c in re.findall(r"`(verify [^`]+)`", README)]
    table = [c for c in inline if len(c.split()) > 2]
    return sorted({line for line in [*lines, *table] if line.startswith("verify ")})


@pytest.mark.parametrize("line", verify_command_lines())
def test_readme_verify_commands_parse(line):
    arguments = shlex.split(line)[1:]
    if "..." in arguments or "NAME" in arguments or "TARGET" in arguments:
        pytest.skip("a template, not a command")
    cli.build_parser().parse_args(arguments)


def test_assert_conforms_options_in_the_readme_exist():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    block = next(b for b in blocks if "assert_conforms(" in b)
    keywords = set(re.findall(r"^\s+(\w+)=", block, re.M))
    assert keywords, "the README shows assert_conforms' options"
    assert keywords <= set(inspect.signature(conformance.check).parameters)
