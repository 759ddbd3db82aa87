"""Timing a loss call so that the number is the call's, on the CPU and on CUDA.

CUDA is asynchronous: a call returns once its kernels are queued, so a host clock read around
it measures the launch. Two methods here read the device's time instead:

- **Amortized synchronizing timer** (what the pytest-benchmark suites use, as
  ``torch.utils.benchmark`` does): ``synchronizing_timer`` waits for the queued work before it
  reads ``perf_counter``, and a round times ``iterations`` back-to-back calls between two such
  reads, so the host runs ahead and the device runs the kernels back to back; the one
  synchronization per round is amortized over the calls (``plan`` picks ``iterations`` so that
  a round lasts at least ``min_round_s``).
- **CUDA events** (``event_times``, as ``triton.testing.do_bench`` does): an event recorded
  before and after each call gives that call's device time; a flush of the cache is queued
  before each call.

Cache reuse: back-to-back calls on the same inputs find them in the L2 cache (CUDA) or the
last-level cache (CPU) when they fit, and then measure the cache, not memory. ``Rotation``
cycles through enough copies of the inputs that the ones a call reads were evicted since
their last use (together at least twice the cache); ``flush_buffer`` is the other remedy,
used with ``event_times``. Backward calls run on a fresh ``.grad`` (set to ``None`` before
each call), so gradient accumulation is not timed.

Everything that touches CUDA goes through a *backend* with ``torch.cuda``'s interface
(``synchronize()``, ``Event(enable_timing=True)`` with ``record()``, ``synchronize()`` and
``elapsed_time(end)`` in milliseconds), so the synchronizing and event paths run in the tests
against a simulated asynchronous device where no GPU is present.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch


class Backend(Protocol):
    """The part of ``torch.cuda`` that timing needs."""

    def synchronize(self) -> None: ...

    def Event(self, enable_timing: bool = ...) -> Any: ...


def synchronizing_timer(backend: Backend | None) -> Callable[[], float]:
    """A clock for pytest-benchmark that first waits for ``backend``'s queued work.

    With ``backend=None`` it is ``time.perf_counter`` itself (the CPU runs calls synchronously).
    """
    if backend is None:
        return time.perf_counter

    def timer() -> float:
        backend.synchronize()
        return time.perf_counter()

    return timer


def synchronized_perf_counter() -> float:
    """``perf_counter`` after every queued CUDA kernel has finished (plain when CUDA is unused).

    The timer the benchmark suites give pytest-benchmark (``@pytest.mark.benchmark(timer=...)``).
    """
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


def backend_for(device: str) -> Backend | None:
    """``torch.cuda`` for 'cuda' devices, ``None`` (synchronous) for the CPU."""
    return torch.cuda if torch.device(device).type == "cuda" else None


@dataclass(frozen=True)
class Plan:
    """How to time a call: ``rounds`` rounds of ``iterations`` calls, after ``warmup_rounds``."""

    iterations: int
    rounds: int
    warmup_rounds: int
    single_call_s: float


def plan(
    call: Callable[[], object],
    timer: Callable[[], float],
    *,
    min_round_s: float = 1e-3,
    max_time_s: float = 1.0,
    min_rounds: int = 10,
    max_rounds: int = 1000,
) -> Plan:
    """Warm ``call`` up, estimate one call's time, and size rounds to the time budget.

    The first calls pay for lazy initialization (allocator, kernels, libraries): two are run
    untimed. One call's time is the median of three; a round repeats the call until it lasts
    ``min_round_s`` (so the synchronization and the timer's resolution are under 1% of it),
    and as many rounds as fit in ``max_time_s`` are taken, within ``[min_rounds, max_rounds]``.
    """
    call()
    call()
    single = []
    for _ in range(3):
        start = timer()
        call()
        single.append(timer() - start)
    one = max(statistics.median(single), 1e-9)
    iterations = max(1, math.ceil(min_round_s / one))
    rounds = int(min(max(max_time_s / (iterations * one), min_rounds), max_rounds))
    return Plan(iterations, rounds, warmup_rounds=1, single_call_s=one)


def time_rounds(call: Callable[[], object], timer: Callable[[], float], plan_: Plan) -> list[float]:
    """Per-call seconds of each round (round time / iterations), as pytest-benchmark records.

    The same loop pytest-benchmark's ``pedantic`` runs, for callers outside pytest
    (``verify bench``) and for the cross-checks.
    """
    return time_interleaved([call], timer, [plan_])[0]


def time_interleaved(
    calls: Sequence[Callable[[], object]], timer: Callable[[], float], plans: Sequence[Plan]
) -> list[list[float]]:
    """Per-call seconds of each round, per call, timing one round of each call in turn.

    After every call's warm-up rounds, round r of each call, then round r + 1 of each in the
    reverse order (A B, B A, A B, ...): a change in the machine's speed while they are
    measured (a busy neighbour on a shared host, a clock that drops) falls on all of them
    alike, and none is always the one that runs first, so their ratio keeps to the calls. A
    call whose plan has fewer rounds drops out when they are done.
    """
    for call, plan_ in zip(calls, plans, strict=True):
        for _ in range(plan_.warmup_rounds * plan_.iterations):
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for round_ in range(max(p.rounds for p in plans)):
        order = list(zip(calls, plans, samples, strict=True))
        for call, plan_, seconds in order[:: -1 if round_ % 2 else 1]:
            if round_ < plan_.rounds:
                start = timer()
                for _ in range(plan_.iterations):
                    call()
                seconds.append((timer() - start) / plan_.iterations)
    return samples


def event_times(
    call: Callable[[], object],
    backend: Backend,
    *,
    repeats: int = 50,
    warmup: int = 5,
    flush: Callable[[], object] | None = None,
) -> list[float]:
    """Device seconds of each of ``repeats`` calls, read from CUDA events around each call.

    ``flush`` (e.g. zeroing a buffer larger than the cache) is queued before each call, outside
    the events; while the device runs it, the host queues the call, so the launch is not timed
    either. One synchronization at the end reads every pair of events.
    """
    for _ in range(warmup):
        call()
    backend.synchronize()
    pairs = []
    for _ in range(repeats):
        if flush is not None:
            flush()
        start, end = backend.Event(enable_timing=True), backend.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        pairs.append((start, end))
    backend.synchronize()
    return [start.elapsed_time(end) / 1e3 for start, end in pairs]


def flush_buffer(device: str, nbytes: int = 256 * 2**20) -> Callable[[], object]:
    """A callable that overwrites ``nbytes`` on ``device``, evicting the inputs from its cache."""
    buffer = torch.empty(nbytes, dtype=torch.uint8, device=device)
    return buffer.zero_


def cache_bytes(device: str) -> int:
    """The size of the cache that back-to-back calls could be served from.

    CUDA: the GPU's L2 (``L2_cache_size`` of the device properties). CPU: the largest cache
    level Linux lists for cpu0 (the last-level cache); 32 MiB where none is listed.
    """
    if torch.device(device).type == "cuda":
        properties = torch.cuda.get_device_properties(torch.device(device))
        return int(getattr(properties, "L2_cache_size", 0)) or 50 * 2**20
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip().upper()
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes, default=32 * 2**20)


def rotating_copies(input_bytes: int, cache: int, *, most: int = 64) -> int:
    """How many input sets to cycle through so that together they are at least twice the cache.

    With ``k`` sets of ``b`` bytes, a set is read again after ``(k − 1)·b`` other bytes; at
    ``k·b ≥ 2·cache`` that is at least the cache, so the set has been evicted.
    """
    if input_bytes <= 0:
        return 1
    return max(1, min(most, math.ceil(2 * cache / input_bytes)))


class Rotation:
    """Cycles through input sets: ``next()`` returns the next one."""

    def __init__(self, sets: Sequence[tuple[torch.Tensor, ...]]) -> None:
        if not sets:
            raise ValueError("Rotation needs at least one input set")
        self.sets = tuple(sets)
        self._index = -1

    def __len__(self) -> int:
        return len(self.sets)

    def next(self) -> tuple[torch.Tensor, ...]:
        self._index = (self._index + 1) % len(self.sets)
        return self.sets[self._index]


def median(samples: Sequence[float]) -> float:
    """The median of ``samples`` (seconds): the statistic every report here uses."""
    return float(statistics.median(samples))
