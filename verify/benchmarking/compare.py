"""The benchmark comparison: a saved run against a baseline, benchmark by benchmark.

    verify bench-compare CURRENT [--baseline PATH] [--storage DIR] [--threshold FRACTION]
                         [--alpha P] [--normalize none|copy] [--markdown PATH]

compares two pytest-benchmark JSON files (saved with ``--benchmark-save-data``, so that the
raw per-round samples are there) and prints a Markdown table and a one-line verdict.

A benchmark is a **regression** only when both hold (as airspeed velocity decides it):

- its median is more than ``1 + threshold`` times the baseline's (a change worth reporting);
- the Mann-Whitney U test on the raw samples, one-sided in the direction of the change, gives
  ``p < alpha`` (a change that noise alone is unlikely to produce).

An **improvement** is the mirror image (a ratio below ``1 / (1 + threshold)``, significant);
everything else is **unchanged**. Benchmarks in only one run are **new** or **missing** and
never fail the gate. When either side has fewer than ``MIN_SAMPLES`` samples (a run saved
without ``--benchmark-save-data`` has none) the test cannot be made: the verdict then rests on
the ratio alone, and the comparison's note says so.

Run-to-run noise: a machine whose speed shifts between runs (a shared VM, a busy host) moves
a whole run's samples together, which the rank test cannot see. Given several baseline runs
(``--baseline`` repeated, or ``--runs N``: the newest N saved), the baseline median of a
benchmark is the median of the runs' medians, its samples are pooled, and the threshold is
widened by the spread the baseline runs show: a regression must exceed ``1 + threshold``
times the slowest baseline run's median over the pooled one (``pool_runs``). One baseline run
is the plain comparison. A slow phase of the host during the current run is the remaining
noise: ``verify bench-gate`` (``gate.py``) re-times each regression before it fails.

Machine drift: ``normalize="copy"`` divides every sample and median by the record's
``copy_equivalent_s`` (the time a device copy moving the same bytes took in the same run), so
a machine that is uniformly slower today, or another machine of the same kind, compares on
the ratio to its own copy time.

Exit status of ``verify bench-compare``: 0 when no benchmark regressed, 1 when at least one
did, 2 (one line on stderr, no traceback) for bad input: a missing or unreadable file, a file
that is not a pytest-benchmark JSON, no baseline in the storage folder, a threshold or alpha
out of range, or a record without ``copy_equivalent_s`` under ``--normalize copy``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

from verify.benchmarking.bench_table import format_seconds
from verify.benchmarking.records import BenchRecord, BenchRun, load_run
from verify.preflight import add_output_options

PROG = "verify bench-compare"
DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01
DEFAULT_STORAGE = ".benchmarks"
MIN_SAMPLES = 5
MISSING_NAMED = 5
NORMALIZATIONS = ("none", "copy")

Verdict = Literal["regression", "improvement", "unchanged", "new", "missing"]
VERDICTS: tuple[Verdict, ...] = ("regression", "improvement", "unchanged", "new", "missing")

_SAVED_RUN = re.compile(r"^(\d+)_.*\.json$")


@dataclass(frozen=True)
class Comparison:
    """One benchmark in the baseline and the current run, and the gate's verdict on it.

    Medians are in seconds, or in multiples of the same-run copy time when ``normalize`` is
    ``"copy"``; ``None`` on the side where the benchmark is absent. ``ratio`` is current over
    baseline median; ``p_value`` is the one-sided Mann-Whitney U p-value (``None`` when the
    test could not be made); ``note`` says why a verdict is what it is when that is not plain.
    """

    name: str
    key: str
    baseline_median: float | None
    current_median: float | None
    ratio: float | None
    p_value: float | None
    verdict: Verdict
    note: str = ""
    baseline_samples: int = 0
    current_samples: int = 0
    normalize: str = "none"


def _scale(record: BenchRecord, run: BenchRun, normalize: str) -> float:
    if normalize == "none":
        return 1.0
    copy_s = record.copy_equivalent_s
    if copy_s is None or not copy_s > 0:
        raise ValueError(
            f"--normalize copy: {record.key} in {run.path} has no copy_equivalent_s in its "
            "extra_info"
        )
    return copy_s


def _one_sided_p(current: Sequence[float], baseline: Sequence[float], ratio: float) -> float:
    """Mann-Whitney U p-value that current is slower (ratio > 1) or faster (ratio < 1)."""
    if ratio > 1:
        alternative = "greater"
    elif ratio < 1:
        alternative = "less"
    else:
        alternative = "two-sided"
    from scipy import stats  # imported here: `verify bench-compare --help` need not wait

    p = float(stats.mannwhitneyu(current, baseline, alternative=alternative).pvalue)
    return 1.0 if math.isnan(p) else p  # NaN: every sample equal, no evidence of a change


def _ratio(current: float, baseline: float) -> float:
    if baseline > 0:
        return current / baseline
    return math.inf if current > 0 else 1.0


def _compare_one(
    base: BenchRecord,
    cur: BenchRecord,
    base_run: BenchRun,
    cur_run: BenchRun,
    *,
    threshold: float,
    alpha: float,
    normalize: str,
    spread: tuple[float, float] = (1.0, 1.0),
) -> Comparison:
    base_scale = _scale(base, base_run, normalize)
    cur_scale = _scale(cur, cur_run, normalize)
    base_median = base.median_s / base_scale
    cur_median = cur.median_s / cur_scale
    ratio = _ratio(cur_median, base_median)
    slow_spread, fast_spread = spread
    slower = ratio > (1 + threshold) * slow_spread
    faster = ratio < 1 / ((1 + threshold) * fast_spread)
    n_base, n_cur = len(base.samples), len(cur.samples)
    p_value: float | None = None
    note = ""
    if max(spread) > 1:
        note = f"baseline runs spread {1 / fast_spread:.2f}×–{slow_spread:.2f}×; "
    if min(n_base, n_cur) < MIN_SAMPLES:
        significant = True
        note += (
            f"{n_base} baseline and {n_cur} current samples (fewer than {MIN_SAMPLES}): "
            "no significance test, decided on the ratio alone"
        )
    else:
        p_value = _one_sided_p(
            [s / cur_scale for s in cur.samples], [s / base_scale for s in base.samples], ratio
        )
        significant = p_value < alpha
        if (slower or faster) and not significant:
            direction = "slower" if slower else "faster"
            note += f"{direction} by the ratio but not significant (p = {p_value:.2g} ≥ {alpha:g})"
    note = note.removesuffix("; ")
    verdict: Verdict = "unchanged"
    if slower and significant:
        verdict = "regression"
    elif faster and significant:
        verdict = "improvement"
    return Comparison(
        name=cur.name,
        key=cur.key,
        baseline_median=base_median,
        current_median=cur_median,
        ratio=ratio,
        p_value=p_value,
        verdict=verdict,
        note=note,
        baseline_samples=n_base,
        current_samples=n_cur,
        normalize=normalize,
    )


def _one_sided(record: BenchRecord, run: BenchRun, verdict: Verdict, normalize: str) -> Comparison:
    median = record.median_s / _scale(record, run, normalize)
    in_current = verdict == "new"
    return Comparison(
        name=record.name,
        key=record.key,
        baseline_median=None if in_current else median,
        current_median=median if in_current else None,
        ratio=None,
        p_value=None,
        verdict=verdict,
        note="only in the current run" if in_current else "only in the baseline run",
        baseline_samples=0 if in_current else len(record.samples),
        current_samples=len(record.samples) if in_current else 0,
        normalize=normalize,
    )


def compare(
    baseline: BenchRun,
    current: BenchRun,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    normalize: str = "none",
    spread: dict[str, tuple[float, float]] | None = None,
) -> list[Comparison]:
    """Compare every benchmark of either run (see the module docstring for the verdicts).

    ``spread`` maps a benchmark's key to how far the baseline runs it was pooled from lay
    above and below the pooled median (``pool_runs``); the thresholds widen by it.

    Benchmarks are matched by key (the test's full name); the result lists the current run's
    benchmarks in its order, then those only in the baseline. ValueError for a threshold not
    above 0, an alpha outside (0, 1), an unknown ``normalize``, or a record without
    ``copy_equivalent_s`` under ``normalize="copy"``.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be a fraction above 0, got {threshold:g}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha:g}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    base_by_key = baseline.by_key()
    cur_by_key = current.by_key()
    comparisons = []
    for key, cur in cur_by_key.items():
        base = base_by_key.get(key)
        if base is None:
            comparisons.append(_one_sided(cur, current, "new", normalize))
        else:
            comparisons.append(
                _compare_one(
                    base,
                    cur,
                    baseline,
                    current,
                    threshold=threshold,
                    alpha=alpha,
                    normalize=normalize,
                    spread=(spread or {}).get(key, (1.0, 1.0)),
                )
            )
    for key, base in base_by_key.items():
        if key not in cur_by_key:
            comparisons.append(_one_sided(base, baseline, "missing", normalize))
    return comparisons


def _three_figures(value: float) -> str:
    magnitude = abs(value)
    decimals = 2 if magnitude < 9.995 else 1 if magnitude < 99.95 else 0
    return f"{value:.{decimals}f}"


def _format_median(value: float | None, normalize: str) -> str:
    if value is None:
        return "–"
    if normalize == "copy":
        shown = _three_figures(value) if 0.01 <= abs(value) < 999.5 else f"{value:.3g}"
        return f"{shown}× copy"
    return format_seconds(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_table(comparisons: Sequence[Comparison]) -> str:
    """The comparisons as a Markdown table, then one line per note below it.

    Columns: benchmark (its name, or its full key where two benchmarks share a name),
    baseline and current median (adaptive time units, or multiples of the copy time when
    normalized), ratio, p-value ('–' when there was no test) and verdict. Benchmarks only in
    the baseline (a subset was timed, or one stopped running) are one line below the table,
    naming the first ``MISSING_NAMED``.
    """
    names = [c.name for c in comparisons]
    lines = [
        "| benchmark | baseline median | current median | ratio | p-value | verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    notes = []
    missing = [c.name for c in comparisons if c.verdict == "missing"]
    for comparison in (c for c in comparisons if c.verdict != "missing"):
        label = comparison.name if names.count(comparison.name) == 1 else comparison.key
        ratio = "–" if comparison.ratio is None else f"{comparison.ratio:.3f}×"
        p_value = "–" if comparison.p_value is None else f"{comparison.p_value:.2g}"
        cells = [
            label,
            _format_median(comparison.baseline_median, comparison.normalize),
            _format_median(comparison.current_median, comparison.normalize),
            ratio,
            p_value,
            comparison.verdict,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if comparison.note and comparison.verdict not in ("new", "missing"):
            notes.append(f"- {_cell(label)}: {comparison.note}")
    if missing:
        more = len(missing) - MISSING_NAMED
        named = ", ".join(missing[:MISSING_NAMED]) + (f" and {more} more" if more > 0 else "")
        notes.append(f"- only in the baseline ({len(missing)}): {_cell(named)}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def count_verdicts(comparisons: Sequence[Comparison]) -> dict[Verdict, int]:
    """How many comparisons have each verdict (every verdict present, zeros included)."""
    return {v: sum(c.verdict == v for c in comparisons) for v in VERDICTS}


def _run_counter(path: Path) -> int:
    match = _SAVED_RUN.match(path.name)
    return int(match.group(1)) if match else -1


def _device_kind_of(path: Path) -> str | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    info = document.get("machine_info") if isinstance(document, dict) else None
    return info.get("verify_device_kind") if isinstance(info, dict) else None


def pool_runs(runs: Sequence[BenchRun]) -> tuple[BenchRun, dict[str, tuple[float, float]]]:
    """Several baseline runs as one, and how far apart they lay, per benchmark.

    The pooled record of a benchmark has the median of the runs' medians, all their samples,
    and the median of their ``copy_equivalent_s``; its spread is (slowest run's median /
    pooled median, pooled median / fastest run's median), both ≥ 1. One run is returned as
    it is, with no spread.
    """
    if len(runs) == 1:
        return runs[0], {}
    by_key: dict[str, list[BenchRecord]] = {}
    for run_ in runs:
        for record in run_.records:
            by_key.setdefault(record.key, []).append(record)
    pooled, spread = [], {}
    for key, records in by_key.items():
        medians = sorted(r.median_s for r in records)
        middle = float(statistics.median(medians))
        copies = [r.copy_equivalent_s for r in records if r.copy_equivalent_s]
        extra = dict(records[0].extra)
        if copies:
            extra["copy_equivalent_s"] = float(statistics.median(copies))
        samples = tuple(s for r in records for s in r.samples)
        pooled.append(BenchRecord(records[0].name, key, middle, samples, extra))
        if middle > 0 and medians[0] > 0:
            spread[key] = (medians[-1] / middle, middle / medians[0])
    return BenchRun(runs[0].path, runs[0].machine_info, tuple(pooled)), spread


def find_baselines(
    storage: Path, count: int, exclude: Path | None = None, *, device_kind: str | None = None
) -> list[Path]:
    """The newest ``count`` saved runs under ``storage`` (see ``find_baseline``), newest first;
    fewer when fewer exist, ValueError (one line) when there is none."""
    storage = Path(storage)
    if not storage.is_dir():
        raise ValueError(f"benchmark storage folder {storage} does not exist")
    excluded = Path(exclude).resolve() if exclude is not None else None
    candidates = [
        path
        for path in storage.rglob("*.json")
        if path.is_file() and _run_counter(path) >= 0 and path.resolve() != excluded
    ]
    candidates.sort(key=lambda p: (_run_counter(p), p.stat().st_mtime), reverse=True)
    chosen = [p for p in candidates if device_kind is None or _device_kind_of(p) == device_kind]
    if not chosen:
        on = f" from a {device_kind} machine" if device_kind else ""
        raise ValueError(
            f"no saved benchmark run{on} under {storage} to compare against "
            "(`tox -e bench` saves one)"
        )
    return chosen[:count]


def find_baseline(
    storage: Path, exclude: Path | None = None, *, device_kind: str | None = None
) -> Path:
    """The newest saved run under ``storage``: the baseline when none is named.

    pytest-benchmark saves runs as ``<storage>/<machine-id>/<NNNN>_<name>.json``; every such
    file anywhere under ``storage`` is a candidate (other JSON files are not), and the newest
    is the one with the highest counter NNNN, then the latest modification time. ``exclude``
    (the current run, when it was saved there too) is never chosen. With ``device_kind``, only
    runs whose ``machine_info["verify_device_kind"]`` is that kind are. ValueError (one line)
    when there is no candidate.
    """
    return find_baselines(storage, 1, exclude, device_kind=device_kind)[0]


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add bench-compare's arguments to ``parser`` (its own, or a ``verify`` subparser)."""
    parser.add_argument(
        "current", metavar="CURRENT", help="the run to check: a pytest-benchmark JSON file"
    )
    add_comparison_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def add_comparison_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a comparison, shared with ``verify bench-gate``: the baseline runs,
    threshold, alpha, normalization and the Markdown output."""
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        action="append",
        help="a run to compare against, repeatable: several are pooled and their spread "
        "widens the threshold (default: the newest --runs saved runs under --storage)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="without --baseline: pool the newest N saved runs (default: %(default)s)",
    )
    parser.add_argument(
        "--storage",
        metavar="DIR",
        default=DEFAULT_STORAGE,
        help="pytest-benchmark's storage folder (default: %(default)s)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="FRACTION",
        help="slowdown beyond which a significant change fails, e.g. 0.1 for 10%% "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        metavar="P",
        help="significance level of the Mann-Whitney U test (default: %(default)s)",
    )
    parser.add_argument(
        "--normalize",
        choices=NORMALIZATIONS,
        default="none",
        help="'copy': compare times as multiples of the same-run copy time (default: none)",
    )
    add_output_options(parser, "table", "markdown")


def build_parser() -> argparse.ArgumentParser:
    """The standalone ``verify bench-compare`` parser (errors: one line, exit 2)."""
    parser = _OneLineParser(
        prog=PROG,
        description="Compare a benchmark run against a baseline; exit 1 on a regression.",
    )
    return add_arguments(parser)


def _load(path: Path, role: str) -> BenchRun:
    if not path.is_file():
        raise ValueError(f"{role} benchmark file {path} does not exist")
    try:
        return load_run(path)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path} is not a pytest-benchmark JSON file (bad benchmark entry: {error!r})"
        ) from None


def _verdict_line(comparisons: Sequence[Comparison], args: argparse.Namespace, base: str) -> str:
    counts = count_verdicts(comparisons)
    status = "FAIL" if counts["regression"] else "OK"
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    return (
        f"{status}: {summary} (threshold {args.threshold:g}, alpha {args.alpha:g}, "
        f"normalize {args.normalize}; baseline {base})"
    )


def setup_warnings(
    baseline_info: dict, current_info: dict, normalize: Literal["none", "copy"]
) -> list[str]:
    """What differs between the two runs' set-up and can move every time, one line each:
    the device kind (unless times are normalized to the copy) and the glibc ``MALLOC_*``
    settings (``machine.malloc_settings``: they decide whether CPU temporaries are
    page-faulted in on every call)."""
    warnings = []
    base_kind = baseline_info.get("verify_device_kind")
    cur_kind = current_info.get("verify_device_kind")
    if base_kind and cur_kind and base_kind != cur_kind and normalize == "none":
        warnings.append(
            f"baseline ran on {base_kind}, current on {cur_kind}; consider --normalize copy"
        )
    base_malloc = baseline_info.get("malloc_settings")
    cur_malloc = current_info.get("malloc_settings")
    if base_malloc is not None and cur_malloc is not None and base_malloc != cur_malloc:
        warnings.append(
            f"baseline ran with MALLOC settings {base_malloc or 'none'}, current with "
            f"{cur_malloc or 'none'}; CPU times are not comparable (tox -e bench sets them)"
        )
    return warnings


def check_arguments(args: argparse.Namespace) -> None:
    """ValueError (one line) for a threshold, alpha or run count out of range."""
    if not args.threshold > 0:
        raise ValueError(f"--threshold must be a fraction above 0, got {args.threshold:g}")
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha must be between 0 and 1, got {args.alpha:g}")
    if args.runs < 1:
        raise ValueError(f"--runs must be at least 1, got {args.runs}")


def load_current(path: Path) -> BenchRun:
    """The run to check; ValueError (one line) when it is missing, malformed or empty."""
    current = _load(path, "current")
    if not current.records:
        raise ValueError(f"{path} holds no benchmarks")
    return current


def load_baseline(
    args: argparse.Namespace, current_path: Path, current: BenchRun
) -> tuple[BenchRun, dict[str, tuple[float, float]], str]:
    """The baseline that ``args`` names (``--baseline``, else the newest ``--runs`` saved runs
    of the current run's device kind), pooled; its spread per benchmark; and its paths."""
    if args.baseline:
        paths = [Path(p) for p in args.baseline]
    else:
        kind = current.machine_info.get("verify_device_kind")
        paths = find_baselines(
            Path(args.storage), args.runs, exclude=current_path, device_kind=kind
        )
    baseline, spread = pool_runs([_load(p, "baseline") for p in paths])
    return baseline, spread, ", ".join(str(p) for p in paths)


def report(
    comparisons: Sequence[Comparison],
    args: argparse.Namespace,
    baseline: BenchRun,
    current: BenchRun,
    baseline_label: str,
    prog: str = PROG,
) -> int:
    """Print the warnings (stderr, as ``prog``), the table and the verdict line; write
    ``--markdown``; the exit status: 1 when a benchmark regressed, else 0."""
    table = format_table(comparisons)
    if args.markdown:
        Path(args.markdown).write_text(table)
    for warning in setup_warnings(baseline.machine_info, current.machine_info, args.normalize):
        print(f"{prog}: warning: {warning}", file=sys.stderr)
    print(table, end="")
    print(_verdict_line(comparisons, args, baseline_label))
    return 1 if any(c.verdict == "regression" for c in comparisons) else 0


def run(args: argparse.Namespace) -> int:
    """Run the comparison that ``args`` (from ``add_arguments``) describes; the exit status.

    Prints the table and the verdict line on stdout; bad input is one line on stderr and 2.
    """
    try:
        check_arguments(args)
        current_path = Path(args.current)
        current = load_current(current_path)
        baseline, spread, label = load_baseline(args, current_path, current)
        comparisons = compare(
            baseline,
            current,
            threshold=args.threshold,
            alpha=args.alpha,
            normalize=args.normalize,
            spread=spread,
        )
        return report(comparisons, args, baseline, current, label)
    except (ValueError, OSError) as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``verify bench-compare`` as a program: parse ``argv`` and return the exit status."""
    args = build_parser().parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
