"""The command line of ``verify bench``, importable without torch (``verify.benchmarking.bench``
imports torch, SciPy and the conformance engine: seconds before a usage error could be told).
"""

from __future__ import annotations

import argparse

from verify.preflight import DEVICE_NAMES, add_output_options

MODES: tuple[str, ...] = ("forward", "forward+backward")
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_THRESHOLD = 0.10


def _run(args: argparse.Namespace) -> int:
    from verify.benchmarking import bench

    return bench.run(args)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "target", metavar="TARGET", help="package.module:attr or path/to/file.py:attr"
    )
    parser.add_argument(
        "--contract", required=True, help="a contract with benchmark cases (`verify contracts`)"
    )
    parser.add_argument("--device", choices=DEVICE_NAMES, default="cpu")
    parser.add_argument("--dtype", action="append", choices=DTYPES, help="default float32")
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument(
        "--max-time", type=float, default=0.5, help="seconds per measurement (default 0.5)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="FRACTION",
        help="a significant difference beyond this is 'slower'/'faster' (default: %(default)s)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny shapes: checks it runs")
    parser.add_argument("--no-check", action="store_true", help="skip the conformance check")
    parser.add_argument("--json", metavar="PATH", help="write pytest-benchmark JSON")
    add_output_options(parser, "table", "markdown")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=_run)
    return parser
