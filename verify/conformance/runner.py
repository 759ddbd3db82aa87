"""``check``: one implementation against one contract, start to finish.

1. Plan the checks on every device and dtype (``plan``); an absent device is 'skipped'.
2. Start the claim specs with the implementation swapped in (``claims``), in a pytest
   subprocess next to the checks, when the implementation can be loaded by name.
3. Run the checks in worker processes (``worker``), or in this process when the
   implementation cannot travel to one (a closure, a lambda) or is torch's own.
4. Gather: declined features, diagnosis, known deviations, the verdict.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from verify import contracts, devices, profiles
from verify.conformance import claims as claim_stage
from verify.conformance.engine import Engine
from verify.conformance.evaluation import Caller, Clock, Target
from verify.conformance.known_deviations import KnownDeviation, apply_known_deviations
from verify.conformance.plan import PlannedCheck, plan
from verify.conformance.results import CheckResult, Report, target_name, verdict
from verify.conformance.worker import Job, LoadError, run_in_workers
from verify.contracts import FeatureMatrix
from verify.devices import dtype_name

DEFAULT_CALL_TIMEOUT_S = 120.0  # torch.compile's first call took 70 s on a busy 2-core machine
CLAIMS_LIMIT_S = 600.0  # the claim stage in all (or five call timeouts, if longer)


def _reference(fn: Any) -> tuple[str, Any] | None:
    """How a worker can load ``fn``: its TARGET string, or its pickle; None if neither."""
    if isinstance(fn, str):
        return ("target", fn)
    obj = getattr(fn, "obj", fn)
    if getattr(sys.modules.get(getattr(obj, "__module__", "")), "__verify_location__", None):
        return ("target", target_name(obj))  # loaded from a file: the worker loads it again
    try:
        return ("pickle", pickle.dumps(fn))
    except Exception:
        return None


def _is_torch_builtin(fn: Any, contract: str) -> bool:
    impl = getattr(fn, "obj", fn)
    return any(impl is i.obj for i in contracts.get(contract).implementations)


def _claim_target(reference: tuple[str, Any] | None, fn: Any) -> str | None:
    """The TARGET the claim specs' ``--impl`` can load, if any."""
    if reference is not None and reference[0] == "target":
        return reference[1]
    obj = getattr(fn, "obj", fn)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", "")
    if module and module != "__main__" and "<" not in qualname:
        return f"{module}:{qualname}"
    return None


def _in_process(fn: Any, job: Job, on_begin: Any) -> list[CheckResult]:
    impl = contracts.as_implementation(fn, job.name)
    target = Target(job.name, contracts.get(job.contract))
    engine = Engine(Caller(impl, Clock()), target, job.profile, job.declared, job.known)
    results = []
    for index, planned in enumerate(job.checks):
        on_begin(index)
        results.append(engine.run(planned))
    job.declined = engine.declined
    return results


def check(
    fn: Any,
    contract: str,
    *,
    target: str | None = None,
    devices_: Iterable[str] = ("cpu",),
    dtypes: Iterable[torch.dtype] = (torch.float64, torch.float32),
    profile: str = profiles.DEFAULT_PROFILE,
    supports: Iterable[str] = (),
    claims: bool = True,
    known_deviations: Iterable[KnownDeviation] | Mapping[str, str] | None = None,
    isolate: bool | None = None,
    call_timeout: float = DEFAULT_CALL_TIMEOUT_S,
    progress: Any = None,
) -> Report:
    """Check ``fn`` against ``contract`` (see the module docstring).

    ``fn`` is a function, an ``nn.Module`` subclass, or a TARGET string (``module:attr`` or
    ``file.py:attr``). ``isolate``: run it in worker processes (default: unless it is torch's
    own or cannot be loaded there). ``call_timeout``: seconds one call may take in a worker.
    ``known_deviations``: entries of ``read_known_deviations``, or ``{pattern: reason}``.
    ``progress``: a ``verify.progress.Progress``. LoadError when a worker cannot load ``fn``.
    """
    matrix, dtypes = contracts.get(contract).conformance, tuple(dtypes)
    if isinstance(known_deviations, Mapping):  # {pattern: reason}, unscoped
        known_deviations = [KnownDeviation(p, (), r) for p, r in known_deviations.items()]
    name = target or (fn if isinstance(fn, str) else target_name(fn))
    report = Report(name, contract)
    planned, present = _plan(matrix, tuple(devices_), dtypes, report)
    reference = _reference(fn)
    if isolate is None:
        isolate = reference is not None and not _is_torch_builtin(fn, contract)
    job = Job(
        reference or ("none", None),
        name,
        contract,
        profile,
        planned,
        frozenset(supports),
        tuple(known_deviations or ()),
        set(),
        list(sys.path),
    )
    claim_run = _start_claims(fn, reference, job, present, dtypes, report) if claims else None
    try:
        declined = _run_checks(fn, job, isolate, call_timeout, progress, report)
    except BaseException:
        if claim_run is not None:
            claim_run.stop()
        raise
    if claim_run is not None:
        report.checks += _finish_claims(claim_run, call_timeout, declined, report, progress)
    return _conclude(report, matrix, declined, known_deviations)


def _start_claims(
    fn: Any,
    reference: Any,
    job: Job,
    present: tuple[str, ...],
    dtypes: tuple[torch.dtype, ...],
    report: Report,
) -> claim_stage.ClaimRun | None:
    """Start the claim specs beside the checks, for the devices ``present`` (None: not run,
    with a note when the implementation cannot be loaded by name)."""
    claim_target = _claim_target(reference, fn) if present else None
    if claim_target:
        return claim_stage.ClaimRun.start(
            claim_target,
            job.contract,
            present,
            tuple(map(dtype_name, dtypes)),
            job.profile,
            job.declared,
        )
    if present:
        report.notes.append("claim specs not run: the implementation cannot be loaded by name")
    return None


def _plan(
    matrix: FeatureMatrix,
    devices_: tuple[str, ...],
    dtypes: tuple[torch.dtype, ...],
    report: Report,
) -> tuple[list[PlannedCheck], tuple[str, ...]]:
    """Every check on the present devices, and those devices; absent ones skipped in
    ``report``."""
    planned: list[PlannedCheck] = []
    present = []
    for device in devices_:
        if reason := devices.unavailable_reason(device):
            report.checks += [
                CheckResult(f"*@{device}/{dtype_name(d)}", "skipped", reason) for d in dtypes
            ]
            continue
        present.append(device)
        for dtype in dtypes:
            planned += plan(matrix, device, dtype)
    return planned, tuple(present)


def _run_checks(
    fn: Any, job: Job, isolate: bool, call_timeout: float, progress: Any, report: Report
) -> set[str]:
    started = []

    def on_begin(index: int) -> None:  # the first check begins once the worker loaded it
        if progress is not None:
            if not started:
                started.append(progress.start("checks", len(job.checks)))
            progress.advance(job.checks[index].name)

    if isolate:
        try:
            run = run_in_workers(job, call_timeout, on_begin)
        except LoadError as error:
            if job.implementation[0] != "pickle":
                raise
            report.notes.append(f"not isolated: a worker cannot load it ({error})")
            isolate = False
    if isolate:
        if run.failed_load is not None:
            report.checks.append(run.failed_load)
        report.checks += [r for r in run.results if r is not None]
        report.output = run.output()
        declined = run.declined
    else:
        if job.implementation[0] == "none":
            report.notes.append("not isolated: it cannot travel to a worker (not picklable)")
        report.checks += _in_process(fn, job, on_begin)
        declined = job.declined
    if progress is not None and started:
        progress.finish()
    return declined


def _finish_claims(
    claim_run: claim_stage.ClaimRun,
    call_timeout: float,
    declined: set[str],
    report: Report,
    progress: Any,
) -> list[CheckResult]:
    if any(c.message.startswith(("timed out", "the worker process")) for c in report.checks):
        claim_run.stop()
        return [CheckResult("claims", "error", "not run: the implementation crashed or hung above")]
    if progress is not None:
        progress.start("claim specs", 1)
    results = claim_run.finish(max(CLAIMS_LIMIT_S, 5 * call_timeout))
    if progress is not None:
        progress.finish()
    claim_stage.reconcile(results, bool(declined) or any(c.declined_in_part for c in report.checks))
    return results


def _conclude(
    report: Report,
    matrix: FeatureMatrix,
    declined: set[str],
    known_deviations: Iterable[KnownDeviation] | None,
) -> Report:
    report.unsupported = sorted(declined)
    report.exercised = ["core"] + [f.name for f in matrix.features if f.name not in declined]
    for result in report.checks:
        for description in result.diagnosis:
            line = f"{result.name}: matches the reference with {description}"
            if line not in report.diagnosis:
                report.diagnosis.append(line)
    if known_deviations is not None:
        apply_known_deviations(report, list(known_deviations))
    report.verdict = verdict(report)
    return report


__all__ = ["DEFAULT_CALL_TIMEOUT_S", "LoadError", "check"]
