"""What a spec observed while it ran, for the claims report.

The pytest plugin opens an ``Observation`` around each test call; ``tolerances.compare``
records every comparison into it and a spec may add a free-text note (a boundary found, a
counterexample asserted). Outside a test (no observation open) recording does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Observation:
    """The worst comparison and the notes of one test call."""

    worst_ratio: float = 0.0  # max over comparisons of error / allowed error
    worst_abs: float = 0.0
    worst_rel: float = 0.0
    comparisons: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "worst_ratio": self.worst_ratio,
            "worst_abs": self.worst_abs,
            "worst_rel": self.worst_rel,
            "comparisons": self.comparisons,
            "notes": list(self.notes),
        }


_current: Observation | None = None


@contextmanager
def observing() -> Iterator[Observation]:
    """Open an observation for the duration of the block."""
    global _current
    previous, _current = _current, Observation()
    try:
        yield _current
    finally:
        _current = previous


def record_comparison(ratio: float, max_abs: float, max_rel: float) -> None:
    """Fold one comparison's error into the open observation."""
    if _current is None:
        return
    _current.comparisons += 1
    if ratio >= _current.worst_ratio:
        _current.worst_ratio, _current.worst_abs, _current.worst_rel = ratio, max_abs, max_rel


def note(text: str) -> None:
    """Attach a line to the report (e.g. the boundary a 'holds within a domain' spec found)."""
    if _current is not None and text not in _current.notes:
        _current.notes.append(text)
