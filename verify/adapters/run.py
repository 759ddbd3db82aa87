"""Check every adapter of one tox environment and regenerate THIRD_PARTY.md.

    python -m verify.adapters.run ENV [--only NAME,...] [--reports DIR] [CHECK_ARGS...]

runs ``verify check TARGET --contract NAME --json DIR/ENV/NAME.json CHECK_ARGS`` (any other
option, e.g. ``--no-claims`` or ``--profile dev``, is passed on to ``verify check``) for every
adapter of ENV (``thirdparty``, ``liger``, ``optax``), each in its own process, one after the
other: a deviating library does not stop the others. It then writes DIR/ENV/environment.json
(torch and library versions, the command, seconds per adapter) and regenerates THIRD_PARTY.md
from every environment's reports (``verify.adapters.table``). Exit status: 0 when every adapter
got a report, whatever its verdict; 1 when one could not be checked at all (no report written).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import time
from pathlib import Path

from verify import environment
from verify.adapters import table
from verify.adapters.registry import ADAPTERS, LIBRARIES, REPORTS, Adapter


def command(adapter: Adapter, report: Path, extra: list[str]) -> list[str]:
    """The ``verify check`` command line for one adapter."""
    return [
        *("verify", "check", adapter.target, "--contract", adapter.contract),
        *("--json", str(report), *adapter.check_args, *extra),
    ]


def check(adapter: Adapter, directory: Path, extra: list[str]) -> tuple[bool, float]:
    """Run ``verify check`` on one adapter; (a report was written, seconds taken)."""
    report = directory / f"{adapter.name}.json"
    report.unlink(missing_ok=True)
    argv = command(adapter, report, extra)
    print(f"$ {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    subprocess.call([sys.executable, "-m", "verify.cli", *argv[1:]])
    seconds = time.perf_counter() - start
    if not report.exists():
        print(f"verify.adapters.run: {adapter.name}: no report written", file=sys.stderr)
    return report.exists(), seconds


def record(env: str, directory: Path, extra: list[str], seconds: dict[str, float]) -> None:
    """environment.json: where the reports were made, and how long each adapter took."""
    path = directory / "environment.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old_seconds = old.get("seconds", {})
    versions = {name: importlib.metadata.version(name) for name in LIBRARIES[env]}
    data = {
        "env": env,
        **environment.describe(["cpu"]),
        "libraries": versions,
        "check_args": extra,
        "seconds": {
            a.name: round(seconds[a.name], 1) if a.name in seconds else old_seconds[a.name]
            for a in ADAPTERS[env]
            if a.name in seconds or a.name in old_seconds
        },
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.adapters.run")
    parser.add_argument("env", choices=sorted(ADAPTERS))
    parser.add_argument("--only", help="comma-separated adapter names (default: all)")
    parser.add_argument("--reports", default=str(REPORTS), help="default: %(default)s")
    args, check_args = parser.parse_known_args(argv)
    args.check_args = check_args
    chosen = [a for a in ADAPTERS[args.env] if not args.only or a.name in args.only.split(",")]
    directory = Path(args.reports) / args.env
    directory.mkdir(parents=True, exist_ok=True)
    seconds, missing = {}, []
    for adapter in chosen:
        written, seconds[adapter.name] = check(adapter, directory, args.check_args)
        if not written:
            missing.append(adapter.name)
    record(args.env, directory, args.check_args, seconds)
    table.write(Path(args.reports), Path("THIRD_PARTY.md"))
    if missing:
        print(f"verify.adapters.run: no report for {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
