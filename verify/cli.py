"""The ``verify`` command.

    verify claims [--device cpu|cuda|all] [--profile dev|ci|thorough] [--json PATH]
                  [--markdown PATH] [--workers N] [--specs DIR] [-- PYTEST_ARGS...]

runs the claim specs through pytest (on every available device, absent ones shown as
skipped) and prints the table of ``verify.report``. Exit status: 0 when every observation
matches its documented verdict, 1 when one deviates or the run itself failed.

    verify check TARGET --contract NAME [--device cpu|cuda|all] [--dtype DTYPE ...]
                 [--profile dev|ci|thorough] [--supports FEATURE,...]
                 [--known-deviations PATH] [--no-claims] [--json PATH] [--markdown PATH]

checks an implementation (``package.module:attr`` or ``path/to/file.py:attr``) against a
contract and prints the conformance report (``verify.conformance``). Exit status: 0 when it
conforms (on the features it supports), 1 when it deviates or cannot be run at all.

    verify contracts

lists the contracts, their parameters and optional features.

    verify claims-diff A.json B.json [--markdown PATH]

lists every claim whose verdict, observation, worst error or notes differ between two claims
reports (``verify.claims_diff``). Exit status: 0 when none does, 1 when one does.

    verify bench TARGET --contract NAME [...]      (``verify.benchmarking.bench``)
    verify bench-compare CURRENT [--baseline PATH] [--threshold F] [--normalize copy] [...]
    verify bench-gate [--runs N] [--recheck K] [...] [-- PYTEST_ARGS]
    verify bench-table RESULTS [-o PATH]
    verify bench-plot RESULTS... [-o PNG] [--mode M] [--device D] [--dtype T]

time an implementation beside the built-in, gate a benchmark run against a saved baseline
(exit 1 on a regression), time the benchmarks and gate them with regressions re-timed before
they fail, and render saved pytest-benchmark runs as a table or a picture.

Usage errors (unknown contract, a TARGET that cannot be imported or is not callable, a bad
known-deviations file) exit 2 with one line on stderr and no traceback.
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

import torch

from verify import check_report, conformance, contracts, devices, profiles, report
from verify.benchmarking import bench, compare, gate, plot, summary
from verify.claims_diff import add_arguments as add_claims_diff_arguments
from verify.environment import describe as describe_environment
from verify.loading import TargetError, load_target
from verify.suites import SUITES

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
        Path(args.json).write_text(report.to_json(rows, shown, describe_environment(shown)))
    if args.markdown:
        Path(args.markdown).write_text(report.render_markdown(rows, shown))
    if returncode == PYTEST_NO_TESTS:
        print("verify claims: no spec was collected", file=sys.stderr)
        return 1
    deviates = any(r.status == "deviates" for r in rows)
    return 1 if deviates or returncode != 0 else 0


def run_check(args: argparse.Namespace) -> int:
    if args.contract not in SUITES:
        known = ", ".join(sorted(SUITES))
        raise UsageError(f"unknown contract {args.contract!r}; known: {known}")
    try:
        fn = load_target(args.target)
    except TargetError as error:
        raise UsageError(str(error)) from None
    known = None
    if args.known_deviations:
        try:
            known = conformance.read_known_deviations(Path(args.known_deviations).read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"known-deviations file {args.known_deviations}: {error}") from None
    features = {f.name for f in SUITES[args.contract].features}
    declared = [f for f in (args.supports or "").split(",") if f]
    unknown = [f for f in declared if f not in features]
    if unknown:
        raise UsageError(
            f"unknown feature(s) {', '.join(unknown)}; {args.contract} has: "
            f"{', '.join(sorted(features))}"
        )
    dtypes = [getattr(torch, d) for d in (args.dtype or ["float64", "float32"])]
    result = conformance.check(
        fn,
        args.contract,
        target=args.target,
        devices_=devices.DEVICES if args.device == "all" else (args.device,),
        dtypes=dtypes,
        profile=args.profile,
        supports=declared,
        claims=not args.no_claims,
        known_deviations=known,
    )
    print(check_report.render_text(result, verbose=args.verbose), end="")
    if args.json:
        Path(args.json).write_text(check_report.to_json(result))
    if args.markdown:
        Path(args.markdown).write_text(check_report.render_markdown(result))
    return 0 if conformance.conforms(result) else 1


def run_contracts(args: argparse.Namespace) -> int:
    for name, contract in contracts.CONTRACTS.items():
        print(f"{name}: {contract.summary}")
        for param in contract.params:
            print(f"  {param.name} (default {param.default!r}): {param.domain}")
        if name in SUITES:
            features = ", ".join(f.name for f in SUITES[name].features)
            print(f"  optional features checked by `verify check`: {features}")
        forms = ", ".join(i.name for i in contract.implementations)
        print(f"  default implementations: {forms}")
    return 0


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

    check = commands.add_parser(
        "check",
        help="check an implementation against a contract",
        description="Check an implementation against a loss contract and report deviations.",
    )
    check.add_argument(
        "target", metavar="TARGET", help="package.module:attr or path/to/file.py:attr"
    )
    check.add_argument(
        "--contract", required=True, help="the contract name (see `verify contracts`)"
    )
    check.add_argument("--device", choices=[*devices.DEVICES, "all"], default="cpu")
    check.add_argument(
        "--dtype",
        action="append",
        choices=[devices.dtype_name(d) for d in devices.FLOATING_DTYPES],
        help="repeatable (default: float64 and float32)",
    )
    check.add_argument("--profile", choices=profiles.PROFILES, default=profiles.DEFAULT_PROFILE)
    check.add_argument(
        "--supports",
        metavar="FEATURE,...",
        help="features the implementation declares: never probed as unsupported",
    )
    check.add_argument(
        "--known-deviations",
        metavar="PATH",
        help="file of '<check or glob>: <reason>' lines: deviations accepted",
    )
    check.add_argument("--no-claims", action="store_true", help="skip the claim specs")
    check.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    check.add_argument("--markdown", metavar="PATH", help="also write the report as Markdown")
    check.add_argument("-v", "--verbose", action="store_true", help="list passed checks too")
    check.set_defaults(run=run_check)

    listing = commands.add_parser("contracts", help="list the contracts and their parameters")
    listing.set_defaults(run=run_contracts)
    add_claims_diff_arguments(
        commands.add_parser(
            "claims-diff",
            help="the claims whose verdict, observation or worst error changed between runs",
            description="Compare two `verify claims --json` reports (e.g. two torch versions).",
        )
    )

    bench.add_arguments(
        commands.add_parser(
            "bench",
            help="time an implementation beside the torch built-in",
            description="Check, then time an implementation beside the torch built-in of "
            "the same contract on every benchmark case, and print the ratio per shape.",
        )
    )
    compare.add_arguments(
        commands.add_parser(
            "bench-compare",
            help="compare a benchmark run with a saved baseline (the regression gate)",
            description="Fail on a regression: a median ratio beyond the threshold and a "
            "significant Mann-Whitney difference of the raw samples.",
        )
    )
    gate.add_arguments(
        commands.add_parser(
            "bench-gate",
            help="time the benchmarks, compare with the baseline, re-time regressions",
            description="Run the benchmarks, compare them with the saved baseline as "
            "bench-compare does, and re-time each regression: it fails only if confirmed.",
        )
    )
    summary.add_arguments(
        commands.add_parser("bench-table", help="a saved benchmark run as a Markdown table")
    )
    plot.add_arguments(
        commands.add_parser("bench-plot", help="saved benchmark runs as a PNG picture")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, bench.BenchUsageError) as error:
        print(f"verify {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in verify itself: still one line, never a traceback
        detail = str(error).splitlines()[0] if str(error) else ""
        print(
            f"verify {args.command}: internal error: {type(error).__name__}: {detail} "
            "(please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
