"""The picture: median time and fraction of copy bandwidth against problem size.

    verify bench-plot RESULTS... [-o PATH] [--mode MODE] [--device DEVICE] [--dtype DTYPE]

Two panels side by side, both against the fewest bytes a call must move (log scale): the median
time per call (log scale) and the achieved bandwidth as a fraction of a device-to-device copy
in the same run (linear, 1 = as fast as a copy). One line per loss (with its variant),
implementation, mode, dtype and device; several runs (e.g. two implementations, or two
machines) can be drawn together. Needs matplotlib: ``pip install 'loss-verify[plot]'``.

Unreadable results, or filters that leave nothing to plot, exit 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.benchmarking.bench_table import fraction_of_copy, load_results, loss_label, min_bytes
from verify.benchmarking.records import BenchRecord, BenchRun

PROG = "verify bench-plot"
DEFAULT_OUTPUT = "bench.png"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


class MissingMatplotlib(ImportError):
    """matplotlib is not installed: the plot extra is needed."""


@dataclass
class Series:
    """The points of one line: (min bytes, median seconds, fraction of copy or None)."""

    key: tuple[str, ...]
    points: list[tuple[float, float, float | None]]


def _matches(record: BenchRecord, field: str, wanted: str | None) -> bool:
    return wanted is None or str(record.extra.get(field, "")) == wanted


def select(
    records: Sequence[BenchRecord],
    *,
    mode: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> list[BenchRecord]:
    """The records that pass the filters and can be placed on the size axis."""
    return [
        r
        for r in records
        if _matches(r, "mode", mode)
        and _matches(r, "device", device)
        and _matches(r, "dtype", dtype)
        and min_bytes(r) is not None
        and r.median_s > 0
    ]


def _series_key(record: BenchRecord) -> tuple[str, ...]:
    extra = record.extra
    return (
        loss_label(record),
        str(extra.get("implementation") or "?"),
        str(extra.get("mode") or "?"),
        str(extra.get("dtype") or "?"),
        str(extra.get("device") or "?"),
    )


def _run_name(run: BenchRun) -> str:
    return run.path.stem or str(run.path)


def series(runs: Sequence[BenchRun], **filters: str | None) -> list[Series]:
    """The lines to draw, each sorted by size; the run's name is added where runs share a key."""
    keyed: list[tuple[tuple[str, ...], BenchRun, BenchRecord]] = [
        (_series_key(record), run, record)
        for run in runs
        for record in select(run.records, **filters)
    ]
    runs_of: dict[tuple[str, ...], set[int]] = {}
    for key, run, _ in keyed:
        runs_of.setdefault(key, set()).add(id(run))
    by_run = any(len(ids) > 1 for ids in runs_of.values())
    lines: dict[tuple[str, ...], Series] = {}
    for key, run, record in keyed:
        full = (*key, _run_name(run)) if by_run else key
        point = (float(min_bytes(record) or 0), record.median_s, fraction_of_copy(record))
        lines.setdefault(full, Series(full, [])).points.append(point)
    for line in lines.values():
        line.points.sort()
    return [lines[k] for k in sorted(lines)]


def _labels(lines: Sequence[Series]) -> tuple[list[str], list[str]]:
    """Per-line labels of the fields that vary, and the fields common to every line."""
    width = len(lines[0].key)
    varying = [i for i in range(width) if len({line.key[i] for line in lines}) > 1]
    common = [lines[0].key[i] for i in range(width) if i not in varying]
    labels = [" · ".join(line.key[i] for i in varying) or line.key[0] for line in lines]
    return labels, common


def _device_kinds(runs: Sequence[BenchRun]) -> str:
    kinds = []
    for run in runs:
        info = run.machine_info
        cpu = info.get("cpu")
        brand = cpu.get("brand_raw") if isinstance(cpu, dict) else None
        kind = info.get("verify_device_kind") or info.get("gpu_name") or brand
        kind = str(kind or "unknown machine")
        if kind not in kinds:
            kinds.append(kind)
    return ", ".join(kinds)


def _import_matplotlib():
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingMatplotlib(
            "the plot needs matplotlib: pip install 'loss-verify[plot]'"
        ) from None
    return Figure, FigureCanvasAgg, colormaps


def _nothing_to_plot(mode: str | None, device: str | None, dtype: str | None) -> ValueError:
    wanted = ", ".join(
        f"{name}={value}"
        for name, value in (("mode", mode), ("device", device), ("dtype", dtype))
        if value is not None
    )
    return ValueError(
        "nothing to plot: no benchmark with a recorded size (min_bytes)"
        + (f" matches {wanted}" if wanted else "")
    )


def _draw_lines(
    lines: Sequence[Any], labels: Sequence[str], time_axes: Any, fraction_axes: Any, cmap: Any
) -> float:
    """Each series on both panels; the highest fraction of copy bandwidth (at least 1)."""
    highest = 1.0
    for index, (line, label) in enumerate(zip(lines, labels, strict=True)):
        style = {
            "color": cmap(index % cmap.N),
            "marker": MARKERS[index % len(MARKERS)],
            "markersize": 5,
            "linewidth": 1.4,
            "label": label,
        }
        sizes = [p[0] for p in line.points]
        time_axes.plot(sizes, [p[1] for p in line.points], **style)
        known = [(p[0], p[2]) for p in line.points if p[2] is not None]
        if known:
            fraction_axes.plot([k[0] for k in known], [k[1] for k in known], **style)
            highest = max(highest, *(k[1] for k in known))
    return highest


def _label_axes(time_axes: Any, fraction_axes: Any, highest: float) -> None:
    time_axes.set_xscale("log")
    time_axes.set_yscale("log")
    time_axes.set_xlabel("problem size: fewest bytes moved per call")
    time_axes.set_ylabel("median time per call (s)")
    time_axes.set_title("median time")
    fraction_axes.set_xscale("log")
    fraction_axes.set_ylim(0, highest * 1.08)
    fraction_axes.axhline(1.0, color="0.4", linestyle="--", linewidth=1)
    fraction_axes.set_xlabel("problem size: fewest bytes moved per call")
    fraction_axes.set_ylabel("achieved bandwidth / copy bandwidth")
    fraction_axes.set_title("fraction of copy bandwidth (1 = as fast as a copy)")
    for axes in (time_axes, fraction_axes):
        axes.grid(True, which="major", alpha=0.3)
        axes.grid(True, which="minor", alpha=0.1)


def plot(
    runs: Sequence[BenchRun],
    output: Path,
    *,
    mode: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> Path:
    """Write the two-panel PNG of ``runs`` to ``output`` and return its path.

    ValueError (one line) when the filters leave nothing to plot; MissingMatplotlib (an
    ImportError) when matplotlib is not installed.
    """
    Figure, FigureCanvasAgg, colormaps = _import_matplotlib()
    lines = series(runs, mode=mode, device=device, dtype=dtype)
    if not lines:
        raise _nothing_to_plot(mode, device, dtype)
    labels, common = _labels(lines)

    figure = Figure(figsize=(13, 5.5), layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg, whatever pyplot's backend is
    time_axes, fraction_axes = figure.subplots(1, 2)
    cmap = colormaps["tab10" if len(lines) <= 10 else "tab20"]
    highest = _draw_lines(lines, labels, time_axes, fraction_axes, cmap)
    _label_axes(time_axes, fraction_axes, highest)

    title = f"Loss benchmarks on {_device_kinds(runs)}"
    if common:
        title += "\n" + " · ".join(common)
    figure.suptitle(title, fontsize="medium")
    handles, _ = time_axes.get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(3, len(lines)),
        fontsize="small",
        frameon=False,
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, format="png", dpi=120)
    return output


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "results", metavar="RESULTS", nargs="+", help="one or more pytest-benchmark JSON files"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=DEFAULT_OUTPUT,
        help="the PNG to write (default: %(default)s)",
    )
    parser.add_argument("--mode", help="only this mode ('forward' or 'forward+backward')")
    parser.add_argument("--device", help="only this device ('cpu' or 'cuda')")
    parser.add_argument("--dtype", help="only this dtype (e.g. 'float32')")
    parser.set_defaults(bench_prog=parser.prog, run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    prog = getattr(args, "bench_prog", PROG)
    try:
        runs = [load_results(path) for path in args.results]
        written = plot(
            runs, Path(args.output), mode=args.mode, device=args.device, dtype=args.dtype
        )
    except MissingMatplotlib as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    print(written)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Plot median time and fraction of copy bandwidth against problem size.",
    )
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
