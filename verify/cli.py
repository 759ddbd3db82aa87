"""The ``verify`` command.

    verify claims [--device cpu|cuda|all] [--profile dev|ci|thorough] [--json PATH]
                  [--markdown PATH] [--workers N] [--specs DIR] [-- PYTEST_ARGS...]

runs the claim specs through pytest (on every available device, absent ones shown as
skipped) and prints the table of ``verify.report``. Exit status: 0 when every observation
matches its documented verdict, 1 when one deviates or the run itself failed, 2 for usage
errors (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from verify import devices, profiles, report

PYTEST_NO_TESTS = 5


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def _specs_dir(given: str | None) -> Path:
    if given:
        path = Path(given)
    else:
        spec = importlib.util.find_spec("specs")
        if spec is None or not spec.submodule_search_locations:
            raise UsageError("cannot find the specs package; pass --specs DIR")
        path = Path(next(iter(spec.submodule_search_locations)))
    if not path.is_dir():
        raise UsageError(f"specs directory {path} does not exist")
    return path


def _has_xdist() -> bool:
    return importlib.util.find_spec("xdist") is not None


def run_claims(args: argparse.Namespace) -> int:
    specs = _specs_dir(args.specs)
    shown = devices.DEVICES if args.device == "all" else (args.device,)
    with tempfile.TemporaryDirectory() as tmp:
        results_path = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(specs),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--verify-results={results_path}",
            f"--hypothesis-profile={args.profile}",
        ]
        if args.device != "all":
            command.append(f"--device={args.device}")
        if args.workers != "0" and _has_xdist():
            command += ["-n", args.workers]
        command += args.pytest_args
        returncode = subprocess.call(command, stdout=sys.stderr if args.quiet_pytest else None)
        if not results_path.exists():
            print(
                f"verify claims: pytest did not run the specs (exit {returncode})", file=sys.stderr
            )
            return 1
        results = json.loads(results_path.read_text())
    rows = report.summarize(results, shown)
    print(report.render_text(rows, shown))
    if args.json:
        Path(args.json).write_text(report.to_json(rows, shown))
    if args.markdown:
        Path(args.markdown).write_text(report.render_markdown(rows, shown))
    if returncode == PYTEST_NO_TESTS:
        print("verify claims: no spec was collected", file=sys.stderr)
        return 1
    deviates = any(r.status == "deviates" for r in rows)
    return 1 if deviates or returncode != 0 else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify", description="Executable specs for loss functions."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    claims = commands.add_parser(
        "claims",
        help="run the claim specs and print the verdict table",
        description="Run the claim specs through pytest and print the verdict table.",
    )
    claims.add_argument("--device", choices=[*devices.DEVICES, "all"], default="all")
    claims.add_argument(
        "--profile",
        choices=profiles.PROFILES,
        default=profiles.DEFAULT_PROFILE,
        help="hypothesis profile (default: %(default)s)",
    )
    claims.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    claims.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    claims.add_argument(
        "--workers",
        default="auto",
        help="pytest-xdist workers ('auto', a number, or 0 for none; default auto)",
    )
    claims.add_argument(
        "--specs", metavar="DIR", help="the specs directory (default: the installed specs package)"
    )
    claims.add_argument(
        "--quiet-pytest", action="store_true", help="send pytest's own output to stderr"
    )
    claims.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    claims.set_defaults(run=run_claims)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"verify {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
