"""Turning a benchmark case into a timed call, and its measurement into a record.

Used by the pytest-benchmark suites in ``benchmarks/`` (which hand ``Prepared.call`` to
``benchmark.pedantic``) and by ``verify bench`` (which times it with ``plan`` and
``time_together``): both time the same closure with the same plan and timer; ``verify bench``
times the built-in and the implementation under test together, a round of each in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from verify.benchmarking import timing
from verify.benchmarking.machine import CopyBandwidth
from verify.benchmarking.workloads import Case, min_bytes, tensor_bytes


def timer_name(device: str) -> str:
    """How a benchmark on ``device`` is timed, for its ``extra_info``."""
    if torch.device(device).type == "cuda":
        return "perf_counter after torch.cuda.synchronize(), rounds of back-to-back calls"
    return "perf_counter, rounds of back-to-back calls"


@dataclass(frozen=True)
class Prepared:
    """A case ready to time on a device, dtype and mode: the call (which takes the next input
    set each time), and sizes."""

    call: Callable[[], None]
    copies: int
    input_bytes: int
    min_bytes: int
    shape: tuple[int, ...]
    case: Case
    device: str
    dtype: torch.dtype
    mode: str


def size_for(device: str, smoke: bool) -> str:
    """Which of a workload's shapes to use: 'smoke', else the device's type ('cuda' or 'cpu')."""
    return "smoke" if smoke else torch.device(device).type


def prepare(
    case: Case,
    implementation: Callable[..., torch.Tensor],
    device: str,
    dtype: torch.dtype,
    mode: str,
    *,
    smoke: bool = False,
    cache: int | None = None,
) -> Prepared:
    """Build the input sets (enough of them to defeat the cache) and the call to time.

    A forward call runs the loss on inputs that do not require grad. A forward + backward call
    sets the differentiated input's ``.grad`` to ``None``, runs the loss and ``backward()``: each
    call writes a fresh gradient, so accumulation is not timed.
    """
    shape = case.workload.shape(size_for(device, smoke))
    first, params = case.inputs(shape, dtype, device, seed=0)
    input_bytes = tensor_bytes(first)
    cache = timing.cache_bytes(device) if cache is None else cache
    copies = timing.rotating_copies(input_bytes, cache)
    sets = [first] + [tuple(t.clone() for t in first) for _ in range(copies - 1)]
    with torch.no_grad():
        output = implementation(*first, **params)
    needed = min_bytes(first, params, output, mode, gathers=case.gathers)
    backward = mode == "forward+backward"
    if backward:
        # A non-scalar output (log_softmax) is differentiated against a cotangent of ones, one
        # per input set, which the backward must read.
        cotangent = [torch.ones_like(output) if output.dim() else None for _ in sets]
        sets = [(s[0].detach().requires_grad_(True), *s[1:]) for s in sets]
        sets = [(g, *s) for g, s in zip(cotangent, sets, strict=True)]
        needed += 0 if cotangent[0] is None else tensor_bytes([cotangent[0]])
    rotation = timing.Rotation(sets)

    def forward() -> None:
        implementation(*rotation.next(), **params)

    def forward_backward() -> None:
        cotangent, *inputs = rotation.next()
        inputs[0].grad = None
        implementation(*inputs, **params).backward(cotangent)

    call = forward_backward if backward else forward
    return Prepared(call, copies, input_bytes, needed, shape, case, device, dtype, mode)


def peak_memory(call: Callable[[], None], device: str) -> int | None:
    """CUDA: bytes allocated at the peak of one call beyond what was held before it (else None)."""
    if torch.device(device).type != "cuda":
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    held = torch.cuda.memory_allocated(device)
    call()
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device) - held)


def extra_info(
    prepared: Prepared,
    *,
    implementation: str,
    median_s: float,
    iterations: int,
    copy: CopyBandwidth,
) -> dict[str, Any]:
    """The record's ``extra_info`` (keys documented in ``verify.benchmarking.records``); on
    CUDA, one more call measures the peak memory."""
    achieved = prepared.min_bytes / median_s / 1e9
    case, device = prepared.case, prepared.device
    return {
        "loss": case.loss,
        "variant": case.variant,
        "implementation": implementation,
        "device": device,
        "dtype": str(prepared.dtype).removeprefix("torch."),
        "mode": prepared.mode,
        "workload": case.workload.name,
        "shape": "x".join(str(n) for n in prepared.shape),
        "elements": int(torch.Size(prepared.shape).numel()),
        "min_bytes": prepared.min_bytes,
        "input_bytes": prepared.input_bytes,
        "achieved_gbps": achieved,
        "copy_gbps": copy.gbps,
        "copy_equivalent_s": copy.seconds_for(prepared.min_bytes),
        "fraction_of_copy": achieved / copy.gbps,
        "peak_memory_bytes": peak_memory(prepared.call, device),
        "iterations": iterations,
        "rotating_copies": prepared.copies,
        "timer": timer_name(device),
    }


def plan(prepared: Prepared, *, max_time_s: float = 1.0) -> timing.Plan:
    """Warm ``prepared.call`` up and size its rounds, as the suites do (``timing.plan``)."""
    return timing.plan(prepared.call, _timer(prepared.device), max_time_s=max_time_s)


def time_together(prepared: Sequence[Prepared], plans: Sequence[timing.Plan]) -> list[list[float]]:
    """Per-call seconds of each round of each prepared call (all on one device), timed one
    round of each in turn (``timing.time_interleaved``), all with the fewest rounds any plan
    has: a change in the machine's speed meanwhile falls on them alike."""
    rounds = min(p.rounds for p in plans)
    plans = [replace(p, rounds=rounds) for p in plans]
    return timing.time_interleaved([p.call for p in prepared], _timer(prepared[0].device), plans)


def _timer(device: str) -> Callable[[], float]:
    return timing.synchronizing_timer(timing.backend_for(device))
