"""``verify bench TARGET --contract NAME``: time an implementation beside the torch built-in.

    verify bench TARGET --contract NAME [--device cpu|cuda] [--dtype DTYPE ...]
                 [--mode forward|forward+backward|both] [--max-time SECONDS] [--threshold F]
                 [--smoke]
                 [--no-check] [--json PATH] [--markdown PATH]

First checks TARGET against the contract (``verify.conformance``, hypothesis profile ``dev``,
float64 and float32 on the CPU, no claim specs): a deviating implementation is still timed, but
the report says so above the table, and the exit status is 1. Then, for every benchmark case of
the contract (``verify.benchmarking.cases``), times the built-in and TARGET together, a round of
each in turn, with the suites' method (``verify.benchmarking.runner.time_together``: a change in
the machine's speed falls on both alike), and prints per shape and mode both medians, TARGET's
time over the built-in's, whether TARGET is slower or faster beyond ``--threshold`` (default
10%) and significantly so (a paired test on the rounds: ``paired_verdict``), and each one's
fraction of the copy bandwidth.
``--json`` writes the measurements in pytest-benchmark's JSON layout, so ``verify bench-table``,
``verify bench-plot`` and ``verify bench-compare`` read them.

Exit status: 0 when TARGET conforms and every case ran (a case whose parameters TARGET does not
take, a TypeError on the keyword, is shown as unsupported); 1 when it deviates, or a case failed
to run (reported in its row); 2 for a usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from scipy import stats

from verify import conformance, contracts, devices
from verify.benchmarking import machine, runner, timing
from verify.benchmarking.bench_table import format_seconds
from verify.benchmarking.cases import BUILTINS, CASES, MODES, Case
from verify.benchmarking.options import DEFAULT_THRESHOLD
from verify.loading import TargetError, load_target
from verify.preflight import UsageError
from verify.progress import Progress

ALPHA = 0.01
MIN_PAIRS = 6


class BenchUsageError(UsageError):
    """Bad input: reported in one line, exit status 2."""


@dataclass
class Timed:
    """One case, mode and dtype, timed for one implementation (or the error it raised)."""

    label: str
    case: Case
    shape: str
    mode: str
    dtype: torch.dtype
    samples: list[float]
    extra: dict[str, Any]
    error: str | None = None
    unsupported: bool = False

    @property
    def median_s(self) -> float | None:
        return timing.median(self.samples) if self.samples else None


def _failed(
    label: str, case: Case, shape: str, mode: str, dtype: torch.dtype, error: Exception
) -> Timed:
    """The implementation under test raised: reported in its row, and the run goes on."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    error_line = f"{type(error).__name__}: {message}"
    unsupported = isinstance(error, TypeError) and "unexpected keyword" in message
    if unsupported:
        error_line = f"unsupported ({error_line})"
    return Timed(label, case, shape, mode, dtype, [], {}, error_line, unsupported)


def time_together(
    implementations: list[tuple[str, Any]],
    case: Case,
    device: str,
    dtype: torch.dtype,
    mode: str,
    *,
    smoke: bool,
    max_time_s: float,
    copy: machine.CopyBandwidth,
) -> list[Timed]:
    """Each ``(label, implementation)`` on one case, dtype and mode, a round of each in turn
    (``runner.time_together``), so their ratio holds when the machine's speed changes. One that
    raises while prepared or planned is reported and the others are timed without it."""
    shape = "x".join(str(n) for n in case.workload.shape(runner.size_for(device, smoke)))
    results: dict[str, Timed] = {}
    ready = []
    for label, fn in implementations:
        try:
            prepared = runner.prepare(case, fn, device, dtype, mode, smoke=smoke)
            ready.append((label, prepared, runner.plan(prepared, max_time_s=max_time_s)))
        except Exception as error:  # the implementation under test failed
            results[label] = _failed(label, case, shape, mode, dtype, error)
    if not ready:
        return [results[label] for label, _ in implementations]
    try:
        samples = runner.time_together([r[1] for r in ready], [r[2] for r in ready])
    except Exception as error:  # raised after planning: which one is not known
        samples = [[] for _ in ready]
        for label, *_ in ready:
            results[label] = _failed(label, case, shape, mode, dtype, error)
    for (label, prepared, plan), seconds in zip(ready, samples, strict=True):
        if label in results:
            continue
        extra = runner.extra_info(
            prepared,
            implementation=label,
            median_s=timing.median(seconds),
            iterations=plan.iterations,
            copy=copy,
        )
        results[label] = Timed(label, case, shape, mode, dtype, seconds, extra)
    return [results[label] for label, _ in implementations]


def _percent(timed: Timed) -> str:
    if timed.error or timed.median_s is None:
        return "—"
    return f"{timed.extra['fraction_of_copy']:.1%}"


def paired_verdict(
    builtin: Sequence[float], target: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> tuple[str, float | None]:
    """'slower', 'faster' or 'same' for TARGET against the built-in, and the p-value.

    The samples are rounds timed in turn (``time_together``), so round i of each ran at the
    same moment. TARGET is 'slower' when the median per-round ratio exceeds ``1 + threshold``
    and the Wilcoxon signed-rank test on the per-round log ratios (two-sided) gives
    p < ``ALPHA``; 'faster' is the mirror image; else 'same'. The threshold is there because
    the same function timed against itself differs by a few percent, consistently, with its
    inputs at other addresses (up to 6% on the development VM). Fewer than ``MIN_PAIRS``
    rounds: 'same' with no p-value (no test).
    """
    if len(builtin) != len(target) or len(builtin) < MIN_PAIRS:
        return "same", None
    log_ratios = [math.log(t / b) for b, t in zip(builtin, target, strict=True)]
    if not any(log_ratios):
        return "same", 1.0
    p_value = float(stats.wilcoxon(log_ratios).pvalue)
    ratio = math.exp(statistics.median(log_ratios))
    if p_value < ALPHA and ratio > 1 + threshold:
        return "slower", p_value
    if p_value < ALPHA and ratio < 1 / (1 + threshold):
        return "faster", p_value
    return "same", p_value


def table(pairs: list[tuple[Timed, Timed]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """Markdown: one row per case, mode and dtype with both medians, TARGET/built-in and
    whether the difference is significant (``paired_verdict``)."""
    lines = [
        "| case | shape | dtype | mode | built-in | target | target / built-in | verdict "
        "| built-in % of copy | target % of copy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for builtin, target in pairs:
        medians = [t.median_s for t in (builtin, target)]
        cells = [
            t.error[:80] if t.error else format_seconds(m)
            for t, m in zip((builtin, target), medians, strict=True)
        ]
        ratio, verdict = "—", "—"
        if all(medians):
            ratio = f"{medians[1] / medians[0]:.2f}×"
            word, p_value = paired_verdict(builtin.samples, target.samples, threshold)
            verdict = word if p_value is None else f"{word} (p = {p_value:.1g})"
        lines.append(
            f"| {builtin.case.id} | {builtin.shape} | {devices.dtype_name(builtin.dtype)} | "
            f"{builtin.mode} | {cells[0]} | {cells[1]} | {ratio} | {verdict} | "
            f"{_percent(builtin)} | {_percent(target)} |"
        )
    return "\n".join(lines) + "\n"


def pytest_benchmark_json(pairs: list[tuple[Timed, Timed]]) -> dict[str, Any]:
    """The measurements in pytest-benchmark's JSON layout (for bench-table/plot/compare)."""
    entries = []
    for timed in (t for pair in pairs for t in pair if not t.error):
        name = f"bench[{timed.case.id}-{devices.dtype_name(timed.dtype)}-{timed.mode}]"
        entries.append(
            {
                "group": f"{timed.case.id} {timed.mode}",
                "name": name,
                "fullname": f"verify bench::{timed.label}::{name}",
                "stats": {"median": timed.median_s, "data": timed.samples},
                "extra_info": timed.extra,
            }
        )
    info = machine.machine_info()
    return {"machine_info": info, "benchmarks": entries}


def _conformance_line(fn: Any, args: argparse.Namespace) -> tuple[str, bool]:
    if args.no_check:
        return "conformance: not checked (--no-check): the timings may be of a wrong answer", True
    report = conformance.check(
        fn,
        args.contract,
        target=args.target,
        profile="dev",
        claims=False,
        progress=Progress(quiet=args.quiet),
    )
    if conformance.conforms(report):
        return f"conformance: {conformance.summary(report)}", True
    failed = [c for c in report.checks if c.status in ("failed", "error")]
    first = f"; first: {failed[0].name}: {failed[0].message[:200]}" if failed else ""
    return (
        f"WARNING: {conformance.summary(report)}{first}\n"
        f"WARNING: the timings below are of an implementation that deviates from the contract "
        f"(`verify check {args.target} --contract {args.contract}` for the report)",
        False,
    )


def run(args: argparse.Namespace) -> int:
    if args.contract not in BUILTINS:
        raise BenchUsageError(
            f"no benchmark cases for contract {args.contract!r}; "
            f"known: {', '.join(sorted(BUILTINS))}"
        )
    reason = devices.unavailable_reason(args.device)
    if reason:
        raise BenchUsageError(f"--device {args.device}: {reason}")
    if args.max_time <= 0:
        raise BenchUsageError("--max-time must be positive")
    if not args.threshold > 0:
        raise BenchUsageError("--threshold must be a fraction above 0")
    try:
        fn = contracts.as_implementation(load_target(args.target), args.target)
    except TargetError as error:
        raise BenchUsageError(str(error)) from None
    line, conforming = _conformance_line(fn, args)
    print(line)
    dtypes = [getattr(torch, d) for d in (args.dtype or ["float32"])]
    modes = MODES if args.mode == "both" else (args.mode,)
    copy = machine.copy_bandwidth(
        args.device, nbytes=2**20 if args.smoke else None, max_time_s=args.max_time
    )
    print(f"copy bandwidth on {args.device}: {copy.gbps:.1f} GB/s")
    if args.device == "cpu":
        print(machine.malloc_note())
    pairs = []
    options = {"smoke": args.smoke, "max_time_s": args.max_time, "copy": copy}
    plan = [
        (case, dtype, mode)
        for case in CASES
        if case.loss == args.contract
        for dtype in dtypes
        for mode in modes
    ]
    progress = Progress(quiet=args.quiet)
    progress.start(f"timing {args.target} beside torch", total=len(plan))
    for case, dtype, mode in plan:
        both = [("torch", BUILTINS[case.loss]), (args.target, fn)]
        pairs.append(tuple(time_together(both, case, args.device, dtype, mode, **options)))
        progress.advance(f"{case.id} {devices.dtype_name(dtype)} {mode}")
    progress.finish()
    rendered = table(pairs, args.threshold)
    print(rendered, end="")
    if args.markdown:
        Path(args.markdown).write_text(f"{line}\n\n{rendered}")
    if args.json:
        Path(args.json).write_text(json.dumps(pytest_benchmark_json(pairs), indent=1))
    failed = any(t.error and not t.unsupported for pair in pairs for t in pair)
    return 0 if conforming and not failed else 1
