"""Rendering a conformance ``Report`` (``verify.conformance``) as text, Markdown or JSON.

The text form is what ``verify check`` prints and what ``assert_conforms`` puts in its
AssertionError: the verdict, the features exercised and unsupported, one line per check that
failed, erred, was skipped or accepted as known (every check with ``verbose``), each failure's
counterexample with a snippet that reproduces it, the diagnosis, notes, and an excerpt of what
the implementation printed.
"""

from __future__ import annotations

import json

from verify.conformance.results import Report, summary

MAX_SHOWN = 400  # characters of a counterexample array shown inline
QUIET_STATUSES = ("passed", "unsupported")  # listed only with verbose (the header names them)


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _counterexample_lines(example: dict) -> list[str]:
    lines = [
        f"    counterexample ({example['what']}, {example['dtype']} on {example['device']}):",
        f"      input     = {_short(example['input'])}",
        f"      target    = {_short(example['target'])}",
        f"      params    = {_short(example['params'])}",
        f"      cotangent = {_short(example['cotangent'])}",
        f"      expected  = {_short(example['expected'])}",
        f"      got       = {_short(example['got'])}",
    ]
    if example.get("max_abs_err") is not None:
        errors = (
            f"max abs err {example['max_abs_err']:.3g}, max rel err {example['max_rel_err']:.3g}"
        )
        lines.append(f"      {errors}")
    if example.get("seed"):
        lines.append(f"      hypothesis: {example['seed']}")
    lines.append("    reproduce with:")
    lines += [f"      {line}" for line in example["snippet"].splitlines()]
    return lines


def render_text(report: Report, *, verbose: bool = False) -> str:
    """The report for a terminal (and for ``assert_conforms``' message)."""
    lines = [summary(report)]
    lines.append(f"  exercised: {', '.join(report.exercised)}")
    if report.unsupported:
        lines.append(f"  unsupported (skipped): {', '.join(report.unsupported)}")
    for check in report.checks:
        if check.status in QUIET_STATUSES and not verbose and not check.declined_in_part:
            continue
        message = f": {check.message}" if check.message else ""
        lines.append(f"  {check.status.upper():<11} {check.name}{message}")
        if check.counterexample:
            lines += _counterexample_lines(check.counterexample)
    if report.diagnosis:
        lines.append("  diagnosis:")
        lines += [f"    {line}" for line in report.diagnosis]
    lines += [f"  note: {note}" for note in report.notes]
    if report.output:
        lines.append(f"  the implementation printed {report.output['bytes']} bytes; excerpt:")
        lines += [f"    | {line}" for line in report.output["excerpt"].splitlines()[:40]]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    """The report in Markdown: the verdict, a table of checks, counterexamples and diagnosis."""
    out = [f"# {report.target} against `{report.contract}`: **{report.verdict}**", ""]
    out.append(f"Exercised: {', '.join(report.exercised)}.")
    if report.unsupported:
        out.append(f"Unsupported (skipped): {', '.join(report.unsupported)}.")
    out += ["", "| check | status | message |", "| --- | --- | --- |"]
    for check in report.checks:
        message = check.message.replace("|", "\\|").replace("\n", " ")
        out.append(f"| `{check.name}` | {check.status} | {message} |")
    failures = [c for c in report.checks if c.counterexample]
    for check in failures:
        out += ["", f"## `{check.name}`", "", "```"]
        out += _counterexample_lines(check.counterexample)
        out.append("```")
    if report.diagnosis:
        out += ["", "## Diagnosis", ""] + [f"- {line}" for line in report.diagnosis]
    return "\n".join(out) + "\n"


def to_json(report: Report) -> str:
    """The report as JSON: target, contract, verdict, checks (with counterexamples), diagnosis."""
    return json.dumps(report.as_dict(), indent=1)
