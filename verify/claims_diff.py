"""Two claims reports compared: every claim whose verdict, observation or worst error changed.

    verify claims-diff A.json B.json [--markdown PATH]

A and B are ``verify claims --json`` reports, e.g. the same catalogue run on two torch versions.
A claim is listed once per field that differs: its status (matches, deviates, no spec), the
documented verdict, the observation on each device, and the worst error against its tolerance
(compared as the table shows it, to two significant digits, so that rounding noise in the last
bits is not a change), and its notes (the specs' boundaries and counterexamples, e.g. SCE-1's
clamp gradient on this torch) that one report has and the other has not, in any order. Claims
present in only one report are listed as added or removed.
Exit status: 0 when nothing changed, 1 when something did, 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.environment import one_line


class ClaimsDiffError(Exception):
    """A report that cannot be read or is not a claims report (exit status 2)."""


@dataclass(frozen=True)
class Change:
    claim: str
    what: str
    before: str
    after: str


def load(path: str) -> dict[str, Any]:
    """A claims report from ``path``; ClaimsDiffError with one line otherwise."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ClaimsDiffError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimsDiffError(f"{path} is not a `verify claims --json` report")
    return data


def worst(claim: dict[str, Any]) -> str:
    """The worst error as the claims table shows it ('-' when nothing was compared)."""
    ratio, absolute = claim.get("worst_error_ratio"), claim.get("worst_absolute_error")
    if ratio is None:
        return "-"
    return f"{ratio:.2g} of tol (abs {absolute:.1e})"


def _fields(claim: dict[str, Any], devices: list[str]) -> dict[str, str]:
    fields = {"status": claim["status"], "documented": claim["documented"]}
    fields |= {f"observed on {d}": claim["observed"].get(d, "not shown") for d in devices}
    fields["worst error"] = worst(claim)
    return fields


def _ratio_text(claim: dict[str, Any]) -> str:
    ratio = claim.get("worst_error_ratio")
    return "-" if ratio is None else f"{ratio:.2g}"


def changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Every difference between the claims of ``a`` and ``b``, in catalogue order."""
    before = {c["id"]: c for c in a["claims"]}
    after = {c["id"]: c for c in b["claims"]}
    devices = list(dict.fromkeys([*a.get("devices", []), *b.get("devices", [])]))
    found = []
    for claim_id in dict.fromkeys([*before, *after]):
        if claim_id not in after:
            found.append(Change(claim_id, "claim", "present", "removed"))
            continue
        if claim_id not in before:
            found.append(Change(claim_id, "claim", "absent", "added"))
            continue
        old, new = _fields(before[claim_id], devices), _fields(after[claim_id], devices)
        for what, value in old.items():
            if what == "worst error" and _ratio_text(before[claim_id]) == _ratio_text(
                after[claim_id]
            ):
                continue
            if value != new[what]:
                found.append(Change(claim_id, what, value, new[what]))
        found += _note_changes(claim_id, before[claim_id], after[claim_id])
    return found


def _note_changes(claim_id: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    old_notes, new_notes = old.get("details", []), new.get("details", [])
    return [Change(claim_id, "note", n, "-") for n in old_notes if n not in new_notes] + [
        Change(claim_id, "note", "-", n) for n in new_notes if n not in old_notes
    ]


def render_markdown(a: dict[str, Any], b: dict[str, Any], found: list[Change]) -> str:
    """The changes as a Markdown table, headed by where each report ran."""
    lines = [f"- A: {one_line(a.get('environment'))}", f"- B: {one_line(b.get('environment'))}"]
    if not found:
        return "\n".join([*lines, "", "No claim changed its verdict, observation or worst error."])
    lines += ["", "| claim | what changed | A | B |", "| --- | --- | --- | --- |"]
    for change in found:
        cells = [change.claim, change.what, change.before, change.after]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        a, b = load(args.a), load(args.b)
    except ClaimsDiffError as error:
        print(f"verify claims-diff: error: {error}", file=sys.stderr)
        return 2
    found = changes(a, b)
    text = render_markdown(a, b, found) + "\n"
    print(text, end="")
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 1 if found else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A.json", help="the first `verify claims --json` report")
    parser.add_argument("b", metavar="B.json", help="the second report")
    parser.add_argument("--markdown", metavar="PATH", help="also write the changes to PATH")
    parser.set_defaults(run=run)
