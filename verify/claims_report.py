"""The claims report: per-test results (from the plugin's ``--verify-results``) to a table.

For each claim of the catalogue and each device, the observation is

- the documented verdict, when every test of the claim on that device passed (the specs
  assert the verdict: a 'refuted' spec passes by exhibiting its counterexample), followed by
  the dtypes it ran in;
- ``DEVIATES (k/n failed)`` when any failed or errored, which makes the report fail;
- ``skipped: <reason>`` when none ran (e.g. CUDA not available);
- ``no spec`` when no test carries the claim's id yet.

The worst error is the largest error seen against its tolerance (1.0 = at the bound) and the
largest absolute error of that comparison; the detail column holds the specs' notes (boundaries,
counterexamples) and the first failure message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.claims import CATALOGUE, Claim

SHORT_DTYPES = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}
FAILED = ("failed", "error")


@dataclass
class ClaimRow:
    claim: Claim
    observed: dict[str, str] = field(default_factory=dict)
    worst_ratio: float | None = None
    worst_abs: float | None = None
    details: list[str] = field(default_factory=list)
    deviates: bool = False
    has_spec: bool = False

    @property
    def status(self) -> str:
        if self.deviates:
            return "deviates"
        return "matches" if self.has_spec else "no spec"

    @property
    def worst(self) -> str:
        if self.worst_ratio is None:
            return "-"
        return f"{self.worst_ratio:.2g} of tol (abs {self.worst_abs:.1e})"


def _observe(claim: Claim, tests: list[dict[str, Any]]) -> str:
    failed = [t for t in tests if t["outcome"] in FAILED]
    if failed:
        return f"DEVIATES ({len(failed)}/{len(tests)} failed)"
    passed = [t for t in tests if t["outcome"] == "passed"]
    if not passed:
        return f"skipped: {tests[0]['message']}"
    dtypes = sorted({t["dtype"] for t in passed if t["dtype"]}, key=list(SHORT_DTYPES).index)
    text = claim.verdict.value
    if dtypes:
        text += f" [{' '.join(SHORT_DTYPES[d] for d in dtypes)}]"
    skipped = len(tests) - len(passed)
    return text + (f", {skipped} skipped" if skipped else "")


def summarize(results: Iterable[dict[str, Any]], devices: Sequence[str]) -> list[ClaimRow]:
    """One row per catalogued claim, observed on each of ``devices``."""
    results = list(results)
    rows = []
    for claim in CATALOGUE:
        row = ClaimRow(claim)
        # by node id, not in the order the tests finished (which xdist's scheduling decides),
        # so that the same run gives the same details in the same order
        mine = sorted((r for r in results if claim.id in r["claims"]), key=lambda r: r["nodeid"])
        row.has_spec = bool(mine)
        for device in devices:
            tests = [r for r in mine if r["device"] == device]
            row.observed[device] = (
                _observe(claim, tests) if tests else ("not run" if mine else "no spec")
            )
            row.deviates |= any(t["outcome"] in FAILED for t in tests)
        for r in mine:
            observation = r.get("observation") or {}
            for text in observation.get("notes", []):
                if text not in row.details:
                    row.details.append(text)
            better = row.worst_ratio is None or observation.get("worst_ratio", 0) > row.worst_ratio
            if r["outcome"] == "passed" and observation.get("comparisons") and better:
                row.worst_ratio = observation["worst_ratio"]
                row.worst_abs = observation["worst_abs"]
        failure = next((r for r in mine if r["outcome"] in FAILED), None)
        if failure:
            row.details.insert(0, f"{failure['nodeid']}: {failure['message']}")
        rows.append(row)
    return rows


def _cells(row: ClaimRow, devices: Sequence[str]) -> list[str]:
    return [
        row.claim.id,
        row.claim.statement,
        row.claim.verdict.value,
        *(row.observed[d] for d in devices),
        row.worst,
        "; ".join(row.details),
    ]


def _header(devices: Sequence[str]) -> list[str]:
    return ["id", "claim", "documented", *devices, "worst error", "detail"]


def render_text(rows: Sequence[ClaimRow], devices: Sequence[str], *, width: int = 60) -> str:
    """A fixed-width table for the terminal (long cells cut at ``width`` characters)."""
    table = [_header(devices)] + [_cells(r, devices) for r in rows]
    table = [[c if len(c) <= width else c[: width - 1] + "…" for c in line] for line in table]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n" + summary_line(rows) + "\n"


def render_markdown(rows: Sequence[ClaimRow], devices: Sequence[str]) -> str:
    """The same table in Markdown."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    header = _header(devices)
    out = [line(header), "| " + " | ".join("---" for _ in header) + " |"]
    out += [line(_cells(r, devices)) for r in rows]
    return "\n".join(out) + "\n\n" + summary_line(rows) + "\n"


def to_json(
    rows: Sequence[ClaimRow], devices: Sequence[str], environment: dict[str, Any] | None = None
) -> str:
    """The same table as JSON: one object per claim, and where it ran (``verify.environment``)."""
    return json.dumps(
        {
            "devices": list(devices),
            "environment": environment,
            "claims": [
                {
                    "id": r.claim.id,
                    "family": r.claim.family,
                    "statement": r.claim.statement,
                    "documented": r.claim.verdict.value,
                    "observed": r.observed,
                    "status": r.status,
                    "worst_error_ratio": r.worst_ratio,
                    "worst_absolute_error": r.worst_abs,
                    "details": r.details,
                }
                for r in rows
            ],
        },
        indent=1,
    )


def summary_line(rows: Sequence[ClaimRow]) -> str:
    counts = {s: sum(r.status == s for r in rows) for s in ("matches", "deviates", "no spec")}
    return (
        f"{counts['matches']} claims match their documented verdict, "
        f"{counts['deviates']} deviate, {counts['no spec']} have no spec yet"
    )
