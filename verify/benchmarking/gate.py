"""The regression gate: time the benchmarks, compare them with the baseline, re-time suspects.

    verify bench-gate [--recheck K] [--out DIR] [comparison options] [-- PYTEST_ARGS...]

runs ``pytest benchmarks PYTEST_ARGS`` in a fresh process (saving the raw samples), compares
the run with the baseline as ``verify bench-compare`` does (``compare.py``: a ratio beyond the
threshold and a significant Mann-Whitney difference), and then re-times each benchmark that
regressed, in a new process, up to ``K`` times (default 2): a regression fails the gate only
when every re-measurement confirms it (``confirm``).

Why: the rank test sees the noise within one measurement, and pooling baseline runs sees how
far runs spread, but a busy host can slow a benchmark for the seconds it is measured. A real
slowdown is there each time it is measured; a slow spell of the host seldom is. On the 2-core
development VM, three reruns of 52 unchanged benchmarks flagged 9, 11 and 17 regressions
against three pooled runs, and re-timing cleared 6, 7 and 9 of them; the rest came from a
spell that outlasted the re-timing, which only a pool of runs saved at other times covers
(``benchmarks/results/README.md``).

PYTEST_ARGS select and configure the benchmarks (``-k``, ``--bench-impl``, ``--bench-smoke``,
``--benchmark-max-time``...); the re-measurements pass them again with the suspects' node ids,
so run ``verify bench-gate`` from the folder that holds ``benchmarks/``. Exit status: 0 when no
regression is confirmed, 1 when one is (or the benchmarks themselves fail), 2 (one line on
stderr) for bad input or a benchmark run that could not start.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from verify.benchmarking import compare
from verify.benchmarking.compare import Comparison

PROG = "verify bench-gate"
DEFAULT_RECHECKS = 2
BENCHMARKS = Path("benchmarks")


def confirm(
    first: Sequence[Comparison], rechecks: Sequence[Sequence[Comparison]]
) -> list[Comparison]:
    """``first`` with each regression kept only if every re-measurement that timed that
    benchmark found a regression too; one that any re-measurement clears becomes 'unchanged'.

    The note says which: 'confirmed by 2 re-measurements (1.31×, 1.29×)' or 'not confirmed:
    1.34× at first, 1.02× when re-measured'. A regression no re-measurement timed is kept.
    Without re-measurements, ``first`` is returned as it is.
    """
    if not rechecks:
        return list(first)
    by_key = [{c.key: c for c in recheck} for recheck in rechecks]
    confirmed = []
    for comparison in first:
        if comparison.verdict != "regression":
            confirmed.append(comparison)
            continue
        again = [r[comparison.key] for r in by_key if comparison.key in r]
        ratios = ", ".join(_ratio(c) for c in again)
        cleared = next((c for c in again if c.verdict != "regression"), None)
        if cleared is not None:
            note = (
                f"not confirmed: {_ratio(comparison)} at first, {_ratio(cleared)} when re-measured"
            )
            confirmed.append(dataclasses.replace(comparison, verdict="unchanged", note=note))
        elif again:
            note = f"confirmed by {len(again)} re-measurement{'s' * (len(again) > 1)} ({ratios})"
            confirmed.append(dataclasses.replace(comparison, note=_join(comparison.note, note)))
        else:
            confirmed.append(
                dataclasses.replace(comparison, note=_join(comparison.note, "not re-measured"))
            )
    return confirmed


def _ratio(comparison: Comparison) -> str:
    return "–" if comparison.ratio is None else f"{comparison.ratio:.2f}×"


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


class BenchmarkRunError(Exception):
    """The benchmark run failed: ``status`` is pytest's exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the benchmark run failed (pytest exit status {status})")
        self.status = status


def time_benchmarks(selection: Sequence[str], pytest_args: Sequence[str], output: Path) -> Path:
    """Run pytest on ``selection`` (folders or node ids) in a new process, saving the run with
    its raw samples to ``output``; its output goes to this process's terminal."""
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *selection, *pytest_args,
        "--benchmark-save-data", f"--benchmark-json={output}",
    ]  # fmt: skip
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise BenchmarkRunError(status)
    return output


def run(args: argparse.Namespace) -> int:
    """Time, compare and re-time as ``args`` (from ``add_arguments``) says; the exit status."""
    try:
        compare.check_arguments(args)
        if args.recheck < 0:
            raise ValueError(f"--recheck must be 0 or more, got {args.recheck}")
        if not BENCHMARKS.is_dir():
            raise ValueError(f"no {BENCHMARKS}/ folder here: run {PROG} from the project root")
        from verify.benchmarking import machine  # torch: imported once arguments are read

        if not args.baseline:  # before minutes of timing: is there anything to compare with?
            compare.find_baselines(Path(args.storage), 1, device_kind=machine.device_kind())
        out = Path(args.out or tempfile.mkdtemp(prefix="bench-gate-"))
        out.mkdir(parents=True, exist_ok=True)
        pytest_args = [a for a in args.pytest_args if a != "--"]
        current_path = time_benchmarks([str(BENCHMARKS)], pytest_args, out / "bench-current.json")
        current = compare.load_current(current_path)
        baseline, spread, label = compare.load_baseline(args, current_path, current)
        options = {"threshold": args.threshold, "alpha": args.alpha, "normalize": args.normalize}
        first = compare.compare(baseline, current, spread=spread, **options)
        rechecks: list[list[Comparison]] = []
        suspects = [c.key for c in first if c.verdict == "regression"]
        for attempt in range(1, args.recheck + 1):
            if not suspects:
                break
            print(
                f"{PROG}: re-measuring {len(suspects)} regression(s), {attempt} of {args.recheck}"
            )
            path = time_benchmarks(suspects, pytest_args, out / f"bench-recheck-{attempt}.json")
            recheck = compare.compare(
                baseline, compare.load_current(path), spread=spread, **options
            )
            rechecks.append(recheck)
            suspects = [c.key for c in recheck if c.key in suspects and c.verdict == "regression"]
        confirmed = confirm(first, rechecks)
        status = compare.report(confirmed, args, baseline, current, label, PROG)
        if rechecks:
            flagged = sum(c.verdict == "regression" for c in first)
            cleared = flagged - sum(c.verdict == "regression" for c in confirmed)
            print(f"{PROG}: {cleared} of {flagged} regression(s) not confirmed when re-measured")
        return status
    except BenchmarkRunError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1 if error.status == 1 else 2
    except (ValueError, OSError) as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add bench-gate's arguments to ``parser`` (its own, or a ``verify`` subparser)."""
    compare.add_comparison_arguments(parser)
    parser.add_argument(
        "--recheck",
        type=int,
        default=DEFAULT_RECHECKS,
        metavar="K",
        help="re-time each regression up to K times; it fails only if every time confirms it "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="keep the runs' JSON here (default: a temporary folder)"
    )
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="-- PYTEST_ARGS",
        help="pytest options selecting and configuring the benchmarks (-k, --bench-impl, ...)",
    )
    parser.set_defaults(run=run)
    return parser
