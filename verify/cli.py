"""The ``verify`` command.

    verify claims [--device cpu|cuda|all] [--profile dev|ci|random|thorough] [--json PATH]
                  [--markdown PATH] [--workers N] [--specs DIR] [-q] [-- PYTEST_ARGS...]

runs the claim specs through pytest (on every available device, absent ones shown as
skipped) and prints the table of ``verify.claims_report``. Exit status: 0 when every observation
matches its documented verdict, 1 when one deviates or the run itself failed.

    verify check TARGET --contract NAME [--device cpu|cuda|all] [--dtype DTYPE ...]
                 [--profile dev|ci|random|thorough] [--supports FEATURE,...]
                 [--known-deviations PATH] [--no-claims] [--json PATH] [--markdown PATH] [-q]

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
known-deviations file, an output path whose folder is missing, a named device that is not
present) exit 2 with one line on stderr and no traceback, before any work starts: each
command's ``validate_*`` runs first, and torch, SciPy and the benchmarking code are imported
only by the commands that need them. Long commands show their progress on stderr
(``verify.progress``); ``-q`` silences it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from verify import listing, preflight
from verify.loading import TargetError, locate_target
from verify.preflight import DEVICE_NAMES, DTYPE_NAMES, UsageError
from verify.progress import Progress

PYTEST_NO_TESTS = 5
POLL_S = 0.2


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


def validate_claims(args: argparse.Namespace) -> None:
    """Usage errors of ``verify claims``, before pytest starts."""
    args.specs_path = _specs_dir(args.specs)
    if args.workers != "auto" and not (args.workers.isdigit()):
        raise UsageError(f"--workers {args.workers}: expected 'auto', 0 or a number of workers")
    preflight.output_paths([("--json", args.json), ("--markdown", args.markdown)])
    preflight.device(args.device)


def _pytest_command(args: argparse.Namespace, results: Path, progress_file: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(args.specs_path),
        "-q",
        "-rfE",  # failures and errors in pytest's summary, not every skip ("CUDA not available")
        "-p",
        "no:cacheprovider",
        f"--verify-results={results}",
        f"--verify-progress={progress_file}",
        f"--hypothesis-profile={args.profile}",
    ]
    if args.device != "all":
        command.append(f"--device={args.device}")
    if args.workers != "0" and _has_xdist():
        command += ["-n", args.workers]
    return command + args.pytest_args


def _new_lines(path: Path, position: int) -> tuple[list[str], int]:
    """The complete lines appended to ``path`` since ``position``, and the new position."""
    if not path.exists():
        return [], position
    with path.open() as file:
        file.seek(position)
        text = file.read()
    complete = text[: text.rfind("\n") + 1]  # a line being written is read next time
    return complete.splitlines(), position + len(complete.encode())


def _follow_pytest(command: list[str], progress_file: Path, progress: Progress) -> tuple[int, str]:
    """Run pytest, turning the lines its verify plugin appends to ``progress_file`` (``total N``,
    then one ``done OUTCOME NODEID`` per test) into progress; its exit status and output."""
    with tempfile.TemporaryFile("w+") as output:
        # One OpenMP thread per xdist worker, as tox sets: the specs run thousands of tiny ops.
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, text=True, env=env
        )
        position, failed, finished = 0, 0, False
        progress.start("claim specs")
        while not finished:
            finished = process.poll() is not None
            lines, position = _new_lines(progress_file, position)
            for line in lines:
                kind, _, rest = line.partition(" ")
                if kind == "total":
                    progress.set_total(int(rest))
                elif kind == "done":
                    outcome, _, test = rest.partition(" ")
                    failed += outcome == "failed"
                    progress.advance(test)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(POLL_S)
        progress.finish(f"{failed} failed" if failed else "")
        output.seek(0)
        return process.returncode, output.read()


def run_claims(args: argparse.Namespace) -> int:
    from verify import claims_report as report
    from verify import devices

    shown = devices.DEVICES if args.device == "all" else (args.device,)
    progress = Progress(quiet=args.quiet)
    with tempfile.TemporaryDirectory() as tmp:
        results_path = Path(tmp) / "results.json"
        command = _pytest_command(args, results_path, Path(tmp) / "progress")
        returncode, output = _follow_pytest(command, Path(tmp) / "progress", progress)
        print(output, end="", file=sys.stderr if args.quiet_pytest else sys.stdout)
        if not results_path.exists():
            print(
                f"verify claims: pytest did not run the specs (exit {returncode})", file=sys.stderr
            )
            return 1
        results = json.loads(results_path.read_text())
    rows = report.summarize(results, shown)
    print(report.render_text(rows, shown))
    if args.json:
        from verify.environment import describe as describe_environment

        Path(args.json).write_text(report.to_json(rows, shown, describe_environment(shown)))
    if args.markdown:
        Path(args.markdown).write_text(report.render_markdown(rows, shown))
    if returncode == PYTEST_NO_TESTS:
        print("verify claims: no spec was collected", file=sys.stderr)
        return 1
    deviates = any(r.status == "deviates" for r in rows)
    return 1 if deviates or returncode != 0 else 0


def validate_check(args: argparse.Namespace) -> None:
    """Usage errors of ``verify check``, before any check runs (the TARGET is located, not run)."""
    args.declared = preflight.contract_and_features(args.contract, args.supports)
    preflight.output_paths([("--json", args.json), ("--markdown", args.markdown)])
    preflight.readable_file("--known-deviations", args.known_deviations)
    preflight.device(args.device)
    if args.call_timeout is not None and args.call_timeout <= 0:
        raise UsageError(f"--call-timeout must be positive, got {args.call_timeout:g}")
    try:  # without running it: the worker process loads it (verify.conformance.worker)
        locate_target(args.target)
    except TargetError as error:
        raise UsageError(str(error)) from None


def run_check(args: argparse.Namespace) -> int:
    import torch

    from verify import check_report, conformance, devices

    known = None
    if args.known_deviations:
        try:
            known = conformance.read_known_deviations(Path(args.known_deviations).read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"known-deviations file {args.known_deviations}: {error}") from None
    dtypes = [getattr(torch, d) for d in (args.dtype or ["float64", "float32"])]
    try:
        result = conformance.check(
            args.target,
            args.contract,
            devices_=devices.DEVICES if args.device == "all" else (args.device,),
            dtypes=dtypes,
            profile=args.profile,
            supports=args.declared,
            claims=not args.no_claims,
            known_deviations=known,
            call_timeout=args.call_timeout or conformance.DEFAULT_CALL_TIMEOUT_S,
            progress=Progress(quiet=args.quiet),
        )
    except conformance.LoadError as error:
        raise UsageError(str(error)) from None
    print(check_report.render_text(result, verbose=args.verbose), end="")
    if args.json:
        Path(args.json).write_text(check_report.to_json(result))
    if args.markdown:
        Path(args.markdown).write_text(check_report.render_markdown(result))
    return 0 if conformance.conforms(result) else 1


def run_contracts(args: argparse.Namespace) -> int:
    print(listing.render_text(), end="")
    return 0


def validate_bench(args: argparse.Namespace) -> None:
    """Usage errors of ``verify bench``, before the benchmarking code is imported."""
    if args.contract not in listing.load():
        raise UsageError(f"unknown contract {args.contract!r}; see `verify contracts`")
    preflight.output_paths([("--json", args.json), ("--markdown", args.markdown)])
    preflight.device(args.device)


def validate_outputs(args: argparse.Namespace) -> None:
    """Usage errors of the other benchmark commands: their output paths."""
    options = (("--markdown", "markdown"), ("-o/--output", "output"), ("--json", "json"))
    preflight.output_paths((option, getattr(args, dest, None)) for option, dest in options)


def _claims_arguments(claims: argparse.ArgumentParser) -> None:
    from verify import profiles  # hypothesis (a few tenths of a second), not torch

    claims.add_argument("--device", choices=[*DEVICE_NAMES, "all"], default="all")
    claims.add_argument(
        "--profile",
        choices=profiles.PROFILES,
        default=profiles.DEFAULT_PROFILE,
        help="hypothesis profile (default: %(default)s)",
    )
    preflight.add_output_options(claims, "table", "json", "markdown")
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
    claims.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    claims.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    claims.set_defaults(run=run_claims, validate=validate_claims)


def _check_arguments(check: argparse.ArgumentParser) -> None:
    from verify import profiles  # hypothesis (a few tenths of a second), not torch

    check.add_argument(
        "target", metavar="TARGET", help="package.module:attr or path/to/file.py:attr"
    )
    check.add_argument(
        "--contract", required=True, help="the contract name (see `verify contracts`)"
    )
    check.add_argument("--device", choices=[*DEVICE_NAMES, "all"], default="cpu")
    check.add_argument(
        "--dtype",
        action="append",
        choices=DTYPE_NAMES,
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
    check.add_argument(
        "--call-timeout",
        type=float,
        metavar="SECONDS",
        help="longest one call of the implementation may take (default: 120)",
    )
    preflight.add_output_options(check, "report", "json", "markdown")
    check.add_argument("-v", "--verbose", action="store_true", help="list passed checks too")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    check.set_defaults(run=run_check, validate=validate_check)


def _contracts_arguments(listing_: argparse.ArgumentParser) -> None:
    listing_.set_defaults(run=run_contracts)


def _module_arguments(module: str, validate: Callable[[argparse.Namespace], None]) -> Callable:
    """Arguments added by ``verify.benchmarking.<module>.add_arguments``, imported on use."""

    def add(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(f"verify.benchmarking.{module}").add_arguments(parser)
        parser.set_defaults(validate=validate)

    return add


# name: (help, description, adds the arguments): only the chosen command's are built.
COMMANDS: dict[str, tuple[str, str | None, Callable[[argparse.ArgumentParser], None]]] = {
    "claims": (
        "run the claim specs and print the verdict table",
        "Run the claim specs through pytest and print the verdict table.",
        _claims_arguments,
    ),
    "check": (
        "check an implementation against a contract",
        "Check an implementation against a loss contract and report deviations.",
        _check_arguments,
    ),
    "contracts": ("list the contracts and their parameters", None, _contracts_arguments),
    "claims-diff": (
        "the claims whose verdict, observation or worst error changed between runs",
        "Compare two `verify claims --json` reports (e.g. two torch versions).",
        lambda parser: importlib.import_module("verify.claims_diff").add_arguments(parser),
    ),
    "bench": (
        "time an implementation beside the torch built-in",
        "Check, then time an implementation beside the torch built-in of the same contract "
        "on every benchmark case, and print the ratio per shape.",
        _module_arguments("options", validate_bench),
    ),
    "bench-compare": (
        "compare a benchmark run with a saved baseline (the regression gate)",
        "Fail on a regression: a median ratio beyond the threshold and a significant "
        "Mann-Whitney difference of the raw samples.",
        _module_arguments("compare", validate_outputs),
    ),
    "bench-gate": (
        "time the benchmarks, compare with the baseline, re-time regressions",
        "Run the benchmarks, compare them with the saved baseline as bench-compare does, and "
        "re-time each regression: it fails only if confirmed.",
        _module_arguments("gate", validate_outputs),
    ),
    "bench-table": (
        "a saved benchmark run as a Markdown table",
        None,
        _module_arguments("bench_table", validate_outputs),
    ),
    "bench-plot": (
        "saved benchmark runs as a PNG picture",
        None,
        _module_arguments("plot", validate_outputs),
    ),
}


def build_parser(chosen: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``verify`` parser, with the arguments of the ``chosen`` commands (default: all)."""
    chosen = set(COMMANDS if chosen is None else chosen)
    parser = argparse.ArgumentParser(
        prog="verify", description="Executable specs for loss functions."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (help_, description, add_arguments) in COMMANDS.items():
        subparser = commands.add_parser(name, help=help_, description=description or help_)
        if name in chosen:
            add_arguments(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None
    args = build_parser([command] if command else []).parse_args(argv)
    try:
        if getattr(args, "validate", None):
            args.validate(args)
        return args.run(args)
    except UsageError as error:
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
