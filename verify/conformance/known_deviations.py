"""Known deviations: failures a user accepts on purpose, so that CI stays green, and that
cannot rot.

A known-deviations file has one entry per line (``#`` starts a comment)::

    values[reduction=batchmean]@*: we divide by every element on purpose
    edge[all_ignored, mean]@*: returns 0, not NaN, when every target is ignored
    values[ignore_index]@* where all_ignored=true: returns 0 when every target is ignored

``*`` in the check name is the only wildcard. ``where KEY=VALUE, ...`` scopes an entry to the
cases that show it: only a counterexample whose scope (``case_scope``: its parameter values,
``edge``, ``all_ignored``, ``empty``) has every listed value is accepted, and the search for
other deviations in that check goes on past it. An entry that matches no check, or whose
checks all pass, is itself reported as an error: remove it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.conformance.results import CheckResult, Report
from verify.strategies import LossCase


@dataclass(frozen=True)
class KnownDeviation:
    pattern: str
    where: tuple[tuple[str, str], ...]
    reason: str

    @property
    def label(self) -> str:
        scope = ", ".join(f"{k}={v}" for k, v in self.where)
        return f"{self.pattern} where {scope}" if scope else self.pattern

    def names(self, check_name: str) -> bool:
        return _glob(self.pattern).fullmatch(check_name) is not None

    def accepts(self, check_name: str, scope: dict[str, str]) -> bool:
        """Whether this entry accepts a failure of ``check_name`` on a case with ``scope``."""
        return self.names(check_name) and all(scope.get(k) == v for k, v in self.where)


def _where(text: str, number: int) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"line {number}: expected 'where KEY=VALUE, ...', got {text!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def read_known_deviations(text: str) -> list[KnownDeviation]:
    """Parse a known-deviations file (see the module docstring); ValueError names the line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, sep, reason = line.rpartition(": ")
        if not sep or not head.strip() or not reason.strip():
            raise ValueError(f"line {number}: expected '<check>: <reason>', got {raw.strip()!r}")
        pattern, _, where = head.partition(" where ")
        entries.append(
            KnownDeviation(pattern.strip(), _where(where, number) if where else (), reason.strip())
        )
    return entries


def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else, brackets included, is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _text(value: Any) -> str | None:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | str | np.integer | np.floating):
        return str(value)
    return None  # arrays are not matched by value


def case_scope(case: LossCase, edge: str | None = None) -> dict[str, str]:
    """What a ``where`` clause can match on a case: its scalar parameters, the edge name,
    whether every target is ignored and whether the batch is empty."""
    scope = {k: t for k, v in case.params.items() if (t := _text(v)) is not None}
    if edge is not None:
        scope["edge"] = edge
    ignore = case.params.get("ignore_index")
    if ignore is not None and case.target is not None:
        scope["all_ignored"] = _text(bool(np.all(case.target == ignore)))
    scope["empty"] = _text(case.scores.size == 0)
    return scope


def apply_known_deviations(report: Report, entries: list[KnownDeviation]) -> None:
    """Mark failures that an unscoped entry names 'known' (scoped entries were applied while
    searching); report entries that match no check, or whose checks all pass, as errors."""
    for entry in entries:
        matched = [c for c in report.checks if entry.names(c.name)]
        if not matched:
            report.checks.append(_stale(entry, "entry matches no check: remove it"))
            continue
        for result in matched:
            if result.status in ("failed", "error") and not entry.where:
                result.status = "known"
                result.message = f"known deviation ({entry.reason}): {result.message}"
        if all(c.status == "passed" for c in matched):
            report.checks.append(_stale(entry, "the known deviation now passes: remove the entry"))


def _stale(entry: KnownDeviation, message: str) -> CheckResult:
    return CheckResult(f"known-deviations[{entry.label}]", "error", message)
