"""What a conformance run produces: one ``CheckResult`` per check, gathered in a ``Report``.

Statuses:

- ``passed``: the check ran and the implementation did what the contract says;
- ``failed``: a value, gradient, shape, dtype or side effect differs (with a counterexample
  where there is one);
- ``error``: the implementation raised, crashed, exited, hung or changed global state;
- ``unsupported``: the check needs a feature the implementation declined;
- ``skipped``: not applicable here (a device that is absent, a spec that skips itself);
- ``known``: a failure or error that a known-deviations entry accepts.

Everything here is plain data (picklable, JSON-able): results travel from the worker process
that runs the implementation to the harness process that writes the report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "unsupported", "skipped", "error", "known")
CONFORMING = ("conforms", "conforms on the features it supports")


@dataclass
class CheckResult:
    """One check's outcome; ``counterexample`` is filled for failures that have one."""

    name: str
    status: str
    message: str = ""
    counterexample: dict[str, Any] | None = None
    diagnosis: list[str] = field(default_factory=list)

    @property
    def declined_in_part(self) -> bool:
        """Passed on the cases the implementation took, having declined others (one value of a
        parameter): the feature is not taken whole."""
        return self.status == "passed" and self.message.startswith("declined")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "counterexample": self.counterexample,
        }


@dataclass
class Report:
    """The verdict on one implementation against one contract."""

    target: str
    contract: str
    verdict: str = "conforms"
    checks: list[CheckResult] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    exercised: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output: dict[str, Any] | None = None  # what the implementation printed (bounded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "contract": self.contract,
            "verdict": self.verdict,
            "summary": summary(self),
            "exercised": self.exercised,
            "unsupported": self.unsupported,
            "checks": [c.as_dict() for c in self.checks],
            "diagnosis": self.diagnosis,
            "notes": self.notes,
            "output": self.output,
        }


def verdict(report: Report) -> str:
    """'error' when nothing ran to completion, 'deviates' on any failure or error, else
    'conforms' (on the features it supports, when it declined a feature or part of one, or a
    check it cannot take, such as a second-order one without double backward)."""
    statuses = {c.status for c in report.checks}
    if "error" in statuses and not {"passed", "failed", "known"} & statuses:
        return "error"  # nothing ran to completion: the implementation cannot be run at all
    if statuses & {"failed", "error"}:
        return "deviates"
    if report.unsupported or any(
        c.status == "unsupported" or c.declined_in_part for c in report.checks
    ):
        return "conforms on the features it supports"
    return "conforms"


def conforms(report: Report) -> bool:
    return report.verdict in CONFORMING


def summary(report: Report) -> str:
    counts = {s: sum(c.status == s for c in report.checks) for s in STATUSES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{report.target} against {report.contract}: {report.verdict} ({parts})"


def target_name(fn: Any) -> str:
    """``module:qualname`` (or ``file.py:qualname`` for a file loaded by ``load_target``)."""
    obj = getattr(fn, "obj", fn)  # an Implementation names what it wraps
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    location = getattr(module, "__verify_location__", None) or getattr(obj, "__module__", "?")
    return f"{location}:{getattr(obj, '__qualname__', type(obj).__name__)}"
