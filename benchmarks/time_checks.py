"""How long the default ``verify check`` takes on each implementation in ``examples/``.

    python benchmarks/time_checks.py [--repeat N]

runs the command of every example the README shows (``verify.readme_examples.EXAMPLES``: the
default ``verify check``, float64 and float32, the ``ci`` profile, the claim specs included)
once per round, and prints a Markdown table: the verdict, and the wall and CPU time (the
harness and all its subprocesses) of each round. Run it on an otherwise idle machine: it
measures, it does not assert.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import subprocess
import sys
import time

from verify.readme_examples import EXAMPLES, ROOT, Example


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_one(example: Example) -> tuple[str, float, float]:
    """(the report's verdict, wall seconds, CPU seconds) of one run of the example."""
    command = [sys.executable, "-m", "verify.cli", *shlex.split(example.command)[1:]]
    cpu, start = children_cpu_s(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    first = (done.stdout.splitlines() or [done.stderr.strip()])[0]
    return first.split(": ", 1)[-1], wall, children_cpu_s() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds (default: %(default)s)")
    args = parser.parse_args(argv)
    rounds = " | ".join(f"round {r + 1}: wall / CPU" for r in range(args.repeat))
    print(f"| example | verdict | {rounds} |")
    print("| --- | --- |" + " --- |" * args.repeat)
    for example in EXAMPLES:
        runs = [time_one(example) for _ in range(args.repeat)]
        times = " | ".join(f"{wall:.0f} s / {cpu:.0f} s" for _, wall, cpu in runs)
        print(f"| `{example.name}` | {runs[-1][0]} | {times} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
