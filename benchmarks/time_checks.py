"""How long the default ``verify check`` takes on each implementation in ``examples/``.

    python benchmarks/time_checks.py [--repeat N] [-- EXTRA VERIFY CHECK ARGS]

runs ``verify check examples/FILE:ATTR --contract NAME`` (defaults: float64 and float32, the
``ci`` profile, the claim specs included) once per example and round, and prints a Markdown
table: verdict, wall time and CPU time (the harness and all its subprocesses) per round.
Run it on an otherwise idle machine: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
EXAMPLES = (  # the file, the attribute and the contract it claims, as examples/README.md lists
    ("stable_cross_entropy.py", "cross_entropy", "cross_entropy"),
    ("blog_label_smoothing.py", "cross_entropy", "cross_entropy"),
    ("clamped_bce.py", "binary_cross_entropy", "binary_cross_entropy"),
    ("kl_batchmean.py", "kl_div", "kl_div"),
    ("naive_cross_entropy.py", "cross_entropy", "cross_entropy"),
)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_one(file: str, attr: str, contract: str, extra: list[str]) -> tuple[str, float, float]:
    """(first line of the report's verdict, wall seconds, CPU seconds) of one check."""
    command = [sys.executable, "-m", "verify.cli", "check", f"examples/{file}:{attr}"]
    command += ["--contract", contract, *extra]
    cpu, start = children_cpu_s(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    first = (done.stdout.splitlines() or [done.stderr.strip()])[0]
    return first.split(": ", 1)[-1], wall, children_cpu_s() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds (default: %(default)s)")
    parser.add_argument("extra", nargs="*", help="extra `verify check` arguments, after --")
    args = parser.parse_args(argv)
    print(
        "| example | contract | verdict | "
        + " | ".join(f"round {r + 1}: wall / CPU" for r in range(args.repeat))
        + " |"
    )
    print("| --- | --- | --- |" + " --- |" * args.repeat)
    for file, attr, contract in EXAMPLES:
        rounds = [time_one(file, attr, contract, args.extra) for _ in range(args.repeat)]
        times = " | ".join(f"{wall:.0f} s / {cpu:.0f} s" for _, wall, cpu in rounds)
        print(f"| `{file}` | {contract} | {rounds[-1][0]} | {times} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
