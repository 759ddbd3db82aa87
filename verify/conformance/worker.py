"""The worker process that runs the implementation under test, and the harness side that
drives it.

The implementation is untrusted: it may exit, crash, hang, flood the terminal or change global
state. So it runs in a worker (``python -m verify.conformance``) that loads it, runs
the planned checks and sends each result back over a pipe; the harness process only reads.

- A check during which the worker dies (``os._exit``, a signal such as SIGSEGV) is an error
  naming the exit status or signal; ``sys.exit`` and ``KeyboardInterrupt`` raised inside the
  implementation are caught in the worker and are an error of the check.
- A call into the implementation that runs longer than ``call_timeout`` seconds is an error
  "timed out"; the worker is killed.
- After either, the remaining checks go on in a fresh worker (at most ``MAX_RESTARTS`` times).
- The worker's stdout and stderr are captured; the report keeps a bounded excerpt.
"""

from __future__ import annotations

import mmap
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from verify.conformance.known_deviations import KnownDeviation
from verify.conformance.plan import PlannedCheck
from verify.conformance.results import CheckResult

MAX_RESTARTS = 5
LOAD_TIMEOUT_S = 120.0  # importing a library (and what it imports) may take long
CLOCK_FORMAT, CLOCK_BYTES = "dd", 16
EXCERPT_BYTES = 2000  # of the implementation's output, kept from its start and its end
POLL_S = 0.05


@dataclass
class Job:
    """Everything the worker needs: how to load the implementation and what to run."""

    implementation: tuple[str, Any]  # ('target', 'module:attr') or ('pickle', bytes)
    name: str
    contract: str
    profile: str
    checks: list[PlannedCheck]
    declared: frozenset[str] = frozenset()
    known: tuple[KnownDeviation, ...] = ()
    declined: set[str] = field(default_factory=set)
    sys_path: list[str] = field(default_factory=list)


class LoadError(Exception):
    """The worker could not load the implementation (message: one line, for the user)."""


# --- the worker side ---------------------------------------------------------------------------


class SharedClock:
    """The start time of the call in progress (0 when none) and whether it is the loading of
    the implementation, in memory the harness can read."""

    def __init__(self, path: str):
        with open(path, "r+b") as file:
            self.memory = mmap.mmap(file.fileno(), CLOCK_BYTES)

    def start(self, loading: bool = False) -> None:
        struct.pack_into(CLOCK_FORMAT, self.memory, 0, time.monotonic(), float(loading))

    def stop(self) -> None:
        struct.pack_into(CLOCK_FORMAT, self.memory, 0, 0.0, 0.0)


def _load(job: Job, clock: SharedClock) -> Any:
    from verify.loading import TargetError, load_target

    kind, value = job.implementation
    clock.start(loading=True)
    try:
        return load_target(value) if kind == "target" else pickle.loads(value)
    except TargetError as error:
        raise LoadError(str(error)) from None
    except BaseException as error:
        raise LoadError(f"cannot load {job.name}: {type(error).__name__}: {error}") from None
    finally:
        clock.stop()


def _engine(job: Job, fn: Any, clock: SharedClock) -> Any:
    from verify import contracts
    from verify.conformance.engine import Engine
    from verify.conformance.evaluation import Caller, Target

    target = Target(job.name, contracts.get(job.contract))
    caller = Caller(contracts.as_implementation(fn, job.name), clock)
    return Engine(caller, target, job.profile, job.declared, job.known, set(job.declined))


def _send(channel: BinaryIO, message: tuple) -> None:
    pickle.dump(message, channel)
    channel.flush()


def worker_main(channel_fd: int, clock_path: str) -> None:
    """Load the job from stdin, run its checks, send every result over ``channel_fd``."""
    from verify import profiles  # noqa: F401 - registers the hypothesis profiles

    job: Job = pickle.load(sys.stdin.buffer)
    sys.path[:] = job.sys_path
    channel = os.fdopen(channel_fd, "wb")
    clock = SharedClock(clock_path)
    from verify.conformance import state

    before = state.snapshot()
    try:
        fn = _load(job, clock)
    except LoadError as error:
        _send(channel, ("load-failed", str(error)))
        return
    changed = state.changes(before)
    state.restore(before)
    _send(channel, ("loaded", changed))
    engine = _engine(job, fn, clock)
    for index, planned in enumerate(job.checks):
        _send(channel, ("begin", index))
        result = engine.run(planned)
        _send(channel, ("result", index, result, set(engine.declined)))
    _send(channel, ("done",))


# --- the harness side --------------------------------------------------------------------------


class OutputCapture:
    """Drains a pipe, keeping the first and last ``EXCERPT_BYTES`` and the total size."""

    def __init__(self, pipe: BinaryIO):
        self.head, self.tail, self.size = b"", b"", 0
        self.thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self.thread.start()

    def _drain(self, pipe: BinaryIO) -> None:
        while chunk := pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536):
            self.size += len(chunk)
            if len(self.head) < EXCERPT_BYTES:
                self.head += chunk[: EXCERPT_BYTES - len(self.head)]
            self.tail = (self.tail + chunk)[-EXCERPT_BYTES:]

    def excerpt(self) -> dict[str, Any] | None:
        self.thread.join(timeout=1)
        if not self.size:
            return None
        if self.size <= 2 * EXCERPT_BYTES:
            text = (self.head + self.tail[len(self.head) - self.size :]).decode(errors="replace")
        else:
            omitted = self.size - 2 * EXCERPT_BYTES
            text = (
                self.head.decode(errors="replace")
                + f"\n[... {omitted} bytes omitted ...]\n"
                + self.tail.decode(errors="replace")
            )
        return {"bytes": self.size, "excerpt": text}


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class _Process:
    """One worker process, its message channel, its clock and its captured output."""

    popen: subprocess.Popen
    messages: queue.Queue
    clock: mmap.mmap
    output: OutputCapture

    def overdue(self, call_timeout: float) -> float | None:
        """The limit the call or load in progress has exceeded, if any."""
        started, loading = struct.unpack_from(CLOCK_FORMAT, self.clock, 0)
        limit = max(call_timeout, LOAD_TIMEOUT_S) if loading else call_timeout
        return limit if started and time.monotonic() - started > limit else None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


def _read_messages(channel: BinaryIO, messages: queue.Queue) -> None:
    try:
        while True:
            messages.put(pickle.load(channel))
    except (EOFError, OSError, pickle.UnpicklingError):
        messages.put(None)


def _spawn(job: Job, clock_path: str) -> _Process:
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    popen = subprocess.Popen(
        [sys.executable, "-m", "verify.conformance", str(write_fd), clock_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(write_fd,),
        env=env,
        start_new_session=True,  # a Ctrl-C in the terminal reaches the harness, which kills it
    )
    os.close(write_fd)
    popen.stdin.write(pickle.dumps(job))
    popen.stdin.close()
    messages: queue.Queue = queue.Queue()
    channel = os.fdopen(read_fd, "rb")
    threading.Thread(target=_read_messages, args=(channel, messages), daemon=True).start()
    with open(clock_path, "r+b") as file:
        clock = mmap.mmap(file.fileno(), CLOCK_BYTES)
    return _Process(popen, messages, clock, OutputCapture(popen.stdout))


@dataclass
class WorkerRun:
    """The results of running a job's checks in workers (one per start, see the docstring)."""

    results: list[CheckResult | None]
    failed_load: CheckResult | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    declined: set[str] = field(default_factory=set)

    def output(self) -> dict[str, Any] | None:
        if not self.outputs:
            return None
        return {
            "bytes": sum(o["bytes"] for o in self.outputs),
            "excerpt": self.outputs[0]["excerpt"],
        }


def _drive(
    process: _Process,
    run: WorkerRun,
    start: int,
    call_timeout: float,
    on_begin: Callable[[int], None],
) -> tuple[str, int | None]:
    """Read the worker's messages until it is done, dies or hangs; ('done' | reason, index)."""
    current = None
    while True:
        try:
            message = process.messages.get(timeout=POLL_S)
        except queue.Empty:
            if (limit := process.overdue(call_timeout)) is not None:
                process.kill()
                return f"timed out: a call took longer than {limit:g} s", current
            continue
        if message is None:
            return f"the worker process {_describe_exit(process.popen.wait())}", current
        kind = message[0]
        if kind == "load-failed":
            raise LoadError(message[1])
        if kind == "loaded" and message[1]:
            run.failed_load = CheckResult(
                "load", "failed", f"loading it changed global torch state: {'; '.join(message[1])}"
            )
        elif kind == "begin":
            current = start + message[1]
            on_begin(current)
        elif kind == "result":
            run.results[start + message[1]] = message[2]
            run.declined = message[3]
            current = None
        elif kind == "done":
            process.popen.wait()
            return "done", None


def _abandon(run: WorkerRun, checks: list[PlannedCheck], start: int, why: str) -> None:
    for index in range(start, len(checks)):
        run.results[index] = CheckResult(checks[index].name, "error", f"not run: {why}")


def run_in_workers(
    job: Job, call_timeout: float, on_begin: Callable[[int], None] = lambda index: None
) -> WorkerRun:
    """Run ``job.checks`` in worker processes (see the module docstring). LoadError when the
    implementation cannot be loaded at all."""
    checks, run = job.checks, WorkerRun([None] * len(job.checks), declined=set(job.declined))
    start, restarts = 0, 0
    with tempfile.NamedTemporaryFile(prefix="verify-clock-") as clock_file:
        while start < len(checks):
            clock_file.seek(0)
            clock_file.write(bytes(CLOCK_BYTES))  # a killed worker leaves its call's start
            clock_file.flush()
            part = Job(**{**job.__dict__, "checks": checks[start:], "declined": run.declined})
            process = _spawn(part, clock_file.name)
            try:
                ended, index = _drive(process, run, start, call_timeout, on_begin)
            finally:
                process.kill()
                if (excerpt := process.output.excerpt()) is not None:
                    run.outputs.append(excerpt)
            if ended == "done":
                break
            if index is None:  # it died or hung while loading, or between checks
                if all(r is None for r in run.results):
                    run.failed_load = CheckResult("load", "error", f"while loading: {ended}")
                    _abandon(run, checks, start, "the implementation could not be loaded")
                    break
                index = next(i for i, r in enumerate(run.results) if r is None)
            run.results[index] = CheckResult(checks[index].name, "error", ended)
            start, restarts = index + 1, restarts + 1
            if restarts > MAX_RESTARTS and start < len(checks):
                _abandon(run, checks, start, f"the worker was restarted {MAX_RESTARTS} times")
                break
    return run
