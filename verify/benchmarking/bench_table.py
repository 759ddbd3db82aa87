"""The results table: a saved pytest-benchmark run as a Markdown document.

    verify bench-table RESULTS [-o PATH]

One row per benchmark, sorted by loss, variant, device, dtype, mode and size: the median time
per call, the bandwidth achieved on the fewest bytes the call must move, that bandwidth as a
fraction of a device-to-device copy measured in the same run, and on CUDA the peak memory
allocated during a call over the inputs' size. Benchmarks without the extra info this project
adds (a plain pytest-benchmark test) still get a row with what is known; unknown cells read '—'.

A file that cannot be read as a pytest-benchmark run exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from verify.benchmarking.records import BenchRecord, BenchRun, load_run

PROG = "verify bench-table"
UNKNOWN = "—"

HEADER = (
    "loss",
    "implementation",
    "device",
    "dtype",
    "mode",
    "workload",
    "shape",
    "min bytes",
    "median",
    "achieved GB/s",
    "% of copy",
    "peak mem / input",
)

LEGEND = (
    "*min bytes*: the fewest bytes the call must move (inputs read once, outputs and gradients "
    "written once); *achieved GB/s*: min bytes over the median time (1 GB = 10⁹ bytes); "
    "*% of copy*: achieved GB/s over the bandwidth of a device-to-device copy measured in the "
    "same run (100% = as fast as copying those bytes); *peak mem / input* (CUDA): memory "
    "allocated during one call above what was held, over the inputs' size."
)


# --- formatting -------------------------------------------------------------------------------


def _three_digits(value: float) -> str:
    """``value`` with three significant digits, never in exponent notation."""
    if value >= 99.5:  # whole numbers from here: '100', '1234' (not '100.' or '1.23e+03')
        return f"{value:.0f}"
    return f"{value:#.3g}"  # '#' keeps trailing zeros: '2.50', '0.500'


def format_seconds(seconds: float | None) -> str:
    """A duration in adaptive units: '850 ns', '12.3 µs', '1.25 ms', '2.00 s'."""
    if seconds is None or seconds < 0:
        return UNKNOWN
    seconds = float(f"{seconds:.3g}")  # round first so that 999.7 µs reads 1.00 ms
    for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1000:
            return f"{_three_digits(seconds / scale)} {unit}"
    return f"{_three_digits(seconds)} s"


def format_bytes(nbytes: float | None) -> str:
    """A size in decimal units (as GB/s is): '512 B', '4.10 MB', '1.07 GB'."""
    if nbytes is None or nbytes < 0:
        return UNKNOWN
    nbytes = float(f"{nbytes:.3g}")
    if nbytes < 1000:
        return f"{nbytes:.0f} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if nbytes < scale * 1000:
            return f"{_three_digits(nbytes / scale)} {unit}"
    return f"{_three_digits(nbytes / 1e12)} TB"


def format_gbps(gbps: float | None) -> str:
    return UNKNOWN if gbps is None else _three_digits(gbps)


def format_fraction(fraction: float | None) -> str:
    """A fraction as a percentage: '45.2%', '0.37%'."""
    if fraction is None:
        return UNKNOWN
    percent = 100 * fraction
    return f"{percent:.1f}%" if percent >= 1 else f"{percent:.2g}%"


# --- what a record knows ----------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def loss_label(record: BenchRecord) -> str:
    """The loss with its variant, e.g. 'cross_entropy (label_smoothing=0.1)'; else the name."""
    loss = record.extra.get("loss")
    if not loss:
        return record.name
    variant = record.extra.get("variant")
    return f"{loss} ({variant})" if variant else str(loss)


def min_bytes(record: BenchRecord) -> float | None:
    value = _number(record.extra.get("min_bytes"))
    return value if value and value > 0 else None


def achieved_gbps(record: BenchRecord) -> float | None:
    """The recorded achieved bandwidth, else min bytes over the median time if both are known."""
    value = _number(record.extra.get("achieved_gbps"))
    if value is not None:
        return value
    nbytes = min_bytes(record)
    if nbytes is None or record.median_s <= 0:
        return None
    return nbytes / record.median_s / 1e9


def fraction_of_copy(record: BenchRecord) -> float | None:
    """The recorded fraction of copy bandwidth, else achieved over copy GB/s if both are known."""
    value = _number(record.extra.get("fraction_of_copy"))
    if value is not None:
        return value
    achieved = achieved_gbps(record)
    copy = _number(record.extra.get("copy_gbps"))
    if achieved is None or not copy:
        return None
    return achieved / copy


def peak_memory_ratio(record: BenchRecord) -> float | None:
    """CUDA peak memory during a call over the inputs' size (None on the CPU or unknown)."""
    if not str(record.extra.get("device", "")).startswith("cuda"):
        return None
    peak = _number(record.extra.get("peak_memory_bytes"))
    inputs = _number(record.extra.get("input_bytes"))
    if peak is None or not inputs:
        return None
    return peak / inputs


def _text(record: BenchRecord, key: str) -> str:
    value = record.extra.get(key)
    return UNKNOWN if value is None or value == "" else str(value)


def sort_key(record: BenchRecord) -> tuple:
    extra = record.extra
    elements = _number(extra.get("elements"))
    return (
        str(extra.get("loss") or record.name),
        str(extra.get("variant") or ""),
        str(extra.get("device") or ""),
        str(extra.get("dtype") or ""),
        str(extra.get("mode") or ""),
        elements is None,
        elements or 0.0,
        record.key,
    )


def row(record: BenchRecord) -> list[str]:
    ratio = peak_memory_ratio(record)
    return [
        loss_label(record),
        _text(record, "implementation"),
        _text(record, "device"),
        _text(record, "dtype"),
        _text(record, "mode"),
        _text(record, "workload"),
        _text(record, "shape"),
        format_bytes(min_bytes(record)),
        format_seconds(record.median_s),
        format_gbps(achieved_gbps(record)),
        format_fraction(fraction_of_copy(record)),
        UNKNOWN if ratio is None else f"{ratio:.2f}×",
    ]


# --- the document -----------------------------------------------------------------------------


def _markdown_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def markdown_table(records: Sequence[BenchRecord]) -> str:
    """One Markdown row per benchmark, sorted by loss, variant, device, dtype, mode and size."""
    lines = [_markdown_line(HEADER), "| " + " | ".join("---" for _ in HEADER) + " |"]
    lines += [_markdown_line(row(r)) for r in sorted(records, key=sort_key)]
    return "\n".join(lines) + "\n"


def _copy_bandwidth(value: Any) -> str | None:
    if isinstance(value, Mapping):
        parts = [
            f"{device} {format_gbps(gbps)} GB/s"
            for device, gbps in sorted(value.items())
            if _number(gbps) is not None
        ]
        return ", ".join(parts) or None
    number = _number(value)
    return None if number is None else f"{format_gbps(number)} GB/s"


def machine_header(machine_info: Mapping[str, Any]) -> str:
    """A short Markdown paragraph naming the machine; every key is optional."""
    parts = []
    kind = machine_info.get("verify_device_kind")
    if kind:
        parts.append(f"`{kind}`")
    gpu = machine_info.get("gpu_name")
    if gpu:
        driver = machine_info.get("gpu_driver")
        parts.append(f"GPU {gpu}" + (f" (driver {driver})" if driver else ""))
    cpu = machine_info.get("cpu")
    brand = cpu.get("brand_raw") if isinstance(cpu, Mapping) else None
    brand = brand or machine_info.get("cpu_model")
    if brand:
        parts.append(f"CPU {brand}")
    torch_version = machine_info.get("torch_version")
    cuda_version = machine_info.get("cuda_version")
    if torch_version:
        parts.append(f"torch {torch_version}" + (f" (CUDA {cuda_version})" if cuda_version else ""))
    elif cuda_version:
        parts.append(f"CUDA {cuda_version}")
    python = machine_info.get("python_version")
    if python:
        parts.append(f"Python {python}")
    copy = _copy_bandwidth(machine_info.get("copy_gbps"))
    if copy:
        parts.append(f"copy bandwidth: {copy}")
    return "**Machine:** " + (" · ".join(parts) if parts else "not recorded") + ".\n"


def _copy_gbps_from_records(records: Sequence[BenchRecord]) -> dict[str, float]:
    found: dict[str, float] = {}
    for record in records:
        device = record.extra.get("device")
        gbps = _number(record.extra.get("copy_gbps"))
        if device and gbps is not None:
            found.setdefault(str(device), gbps)
    return found


def render(run: BenchRun) -> str:
    """The whole document: title, machine, table and legend."""
    info = dict(run.machine_info)
    if not info.get("copy_gbps"):
        from_records = _copy_gbps_from_records(run.records)
        if from_records:
            info["copy_gbps"] = from_records
    count = len(run.records)
    return (
        "# Loss benchmarks\n\n"
        f"{machine_header(info)}\n"
        f"{count} benchmark{'' if count == 1 else 's'} from `{run.path.name}`.\n\n"
        f"{markdown_table(run.records)}\n"
        f"{LEGEND}\n"
    )


# --- the command ------------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_results(path: str | Path) -> BenchRun:
    """``load_run``, with a malformed entry also reported as a one-line ValueError."""
    try:
        return load_run(path)
    except ValueError:
        raise
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path} is not a pytest-benchmark JSON file (bad benchmark entry: "
            f"{type(error).__name__}: {_one_line(error)})"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("results", metavar="RESULTS", help="a pytest-benchmark JSON file")
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="write the Markdown here (default: stdout)"
    )
    parser.set_defaults(bench_prog=parser.prog, run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    prog = getattr(args, "bench_prog", PROG)
    try:
        document = render(load_results(args.results))
        if args.output:
            Path(args.output).write_text(document, encoding="utf-8")
        else:
            sys.stdout.write(document)
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Render a pytest-benchmark run as a Markdown table."
    )
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
