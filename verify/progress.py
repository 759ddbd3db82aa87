"""How far a long command has got, on stderr: what it is doing, how much is done, time spent.

On a terminal one line is redrawn in place (at most ten times a second); when stderr is not a
terminal (CI logs, pipes) plain lines are printed: one when a stage starts, one at each tenth
of a known total, and one when it ends. ``quiet=True`` (the commands' ``-q``) prints nothing.

A stage is ``start(stage, total)`` (``total`` may be unknown: ``None``, and given later with
``set_total``), any number of ``advance(label)`` calls, each one unit of work done (``label``
names it), and ``finish(summary)``.
Plain code rather than ``rich`` or ``tqdm``: one line on stderr is all that is needed, the
plain-lines mode for logs is what neither gives as such, and the command's start-up stays free
of another import and another dependency.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

REDRAW_EVERY_S = 0.1
PLAIN_STEPS = 10  # plain lines at each tenth of a known total


class Progress:
    """Progress of one command's stages on ``stream`` (default: stderr)."""

    def __init__(
        self, stream: TextIO | None = None, *, quiet: bool = False, live: bool | None = None
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = self.stream.isatty() if live is None else live
        self.stage = ""
        self.total: int | None = None
        self.done = 0
        self._started = self._drawn = 0.0
        self._step = 0
        self._width = 0

    def start(self, stage: str, total: int | None = None) -> None:
        """Begin ``stage``, of ``total`` units of work when known."""
        self.stage, self.total, self.done, self._step = stage, total, 0, 0
        self._started = time.monotonic()
        self._drawn = 0.0
        if not self.live:
            of = f" ({total})" if total is not None else ""
            self._line(f"{stage}: started{of}")
        self._draw("", force=True)

    def set_total(self, total: int) -> None:
        """The stage's total, once it is known (e.g. after pytest has collected)."""
        self.total = total

    def advance(self, label: str = "", n: int = 1) -> None:
        """``n`` more units of work done; ``label`` names the last one."""
        self.done += n
        if self.live:
            self._draw(label)
        elif self.total:
            step = self.done * PLAIN_STEPS // self.total
            if step > self._step and self.done < self.total:
                self._step = step
                self._line(f"{self.stage}: {self._count()} {self._elapsed()}")

    def finish(self, summary: str = "") -> None:
        """End the stage: its count, time taken and ``summary``."""
        self._clear()
        of = f"/{self.total}" if self.total is not None else ""
        tail = f", {summary}" if summary else ""
        self._line(f"{self.stage}: done {self.done}{of} in {self._elapsed()}{tail}")

    def _count(self) -> str:
        if self.total is None:
            return f"{self.done} done"
        percent = 100 * self.done // self.total if self.total else 100
        return f"{self.done}/{self.total} ({percent}%)"

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self._started)
        return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"

    def _draw(self, label: str, *, force: bool = False) -> None:
        if self.quiet or not self.live:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_EVERY_S:
            return
        self._drawn = now
        columns = shutil.get_terminal_size((80, 24)).columns - 1
        text = f"{self.stage}: {self._count()} {self._elapsed()} {label}"[:columns]
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def _clear(self) -> None:
        if self.live and not self.quiet and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def _line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)
