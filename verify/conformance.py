"""The conformance engine: check one implementation against one contract.

``check(fn, "cross_entropy")`` runs, on every requested device and dtype:

- ``values[core]`` and ``values[<feature>]``: values and gradients (vector-Jacobian products)
  against the contract's float64 oracle over hypothesis-drawn inputs, for the core case and for
  each optional feature (a parameter or an input kind);
- ``edge[...]``: all targets ignored, an empty batch;
- ``non_contiguous``: the same on non-contiguous input views;
- ``output``: dtype, device and shape of the result; ``no_mutation``: inputs left unchanged;
- ``gradcheck``: ``torch.autograd.gradcheck`` in float64;
- ``claim[<id>]``: every claim spec that involves the contract, with the implementation swapped
  in (e.g. CE-1, BCE-7 and KL-2 for ``cross_entropy``).

A feature the implementation does not accept (TypeError on an unexpected keyword, or
NotImplementedError on an input kind) is *unsupported* and its checks are skipped, unless the
user declared it supported; any other exception, a wrong value or a wrong gradient is a
deviation. Failures carry the smallest counterexample hypothesis found, a snippet that
reproduces it, and a diagnosis: which known convention variant the implementation matches.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from verify import contracts, devices, profiles
from verify.autodiff import value_and_grad
from verify.contracts import Implementation
from verify.devices import dtype_name, params_rounded, params_to_device, rounded, to_device
from verify.strategies import LossCase
from verify.suites import SUITES, Feature, Suite
from verify.tolerances import compare, describe

STATUSES = ("passed", "failed", "unsupported", "skipped", "error", "known")


class Unsupported(Exception):
    """The implementation does not accept a feature (raised while probing)."""


class Deviation(AssertionError):
    """A value or gradient differs from the reference; carries the counterexample."""

    def __init__(
        self,
        message: str,
        counterexample: dict[str, Any] | None,
        case: LossCase | None = None,
        got: Any = None,
    ):
        super().__init__(message)
        self.counterexample = counterexample
        self.case, self.got = case, got


@dataclass
class CheckResult:
    """One check's outcome; ``counterexample`` is filled for failures."""

    name: str
    status: str
    message: str = ""
    counterexample: dict[str, Any] | None = None
    deviation: Deviation | None = field(default=None, repr=False)
    strategy: st.SearchStrategy[LossCase] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "counterexample": self.counterexample,
        }


@dataclass
class Report:
    """The verdict on one implementation against one contract."""

    target: str
    contract: str
    verdict: str = "conforms"
    checks: list[CheckResult] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    exercised: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "contract": self.contract,
            "verdict": self.verdict,
            "summary": summary(self),
            "exercised": self.exercised,
            "unsupported": self.unsupported,
            "checks": [c.as_dict() for c in self.checks],
            "diagnosis": self.diagnosis,
        }


def _is_unsupported(error: BaseException, feature: Feature | None) -> bool:
    if isinstance(error, NotImplementedError):
        return True
    return (
        isinstance(error, TypeError)
        and feature is not None
        and feature.param is not None
        and "unexpected keyword argument" in str(error)
        and feature.param in str(error)
    )


def _tensors(case: LossCase, device: str, dtype: torch.dtype) -> tuple[list[Any], dict[str, Any]]:
    inputs = [to_device(case.scores, device, dtype)]
    if case.target is not None:
        target_dtype = dtype if case.target.dtype.kind == "f" else None
        inputs.append(to_device(case.target, device, target_dtype))
    return inputs, params_to_device(case.params, device, dtype)


def _rounded_case(case: LossCase, dtype: torch.dtype) -> LossCase:
    target = case.target
    if target is not None and target.dtype.kind == "f":
        target = rounded(target, dtype)
    cotangent = rounded(case.cotangent, dtype)
    return LossCase(
        rounded(case.scores, dtype), target, params_rounded(case.params, dtype), cotangent
    )


def _oracle_inputs(case: LossCase) -> tuple[np.ndarray, ...]:
    """The oracle's positional inputs: the scores, and the target unless the loss takes none."""
    return (case.scores,) if case.target is None else (case.scores, case.target)


def _to_list(array: Any) -> Any:
    return np.asarray(array).tolist()


def counterexample(
    case: LossCase,
    dtype: torch.dtype,
    what: str,
    got: Any,
    expected: Any,
    comparison: Any,
    target: str,
    contract: str,
    device: str,
) -> dict[str, Any]:
    """The failing inputs, what was expected and got, and a snippet that reproduces it."""
    params = {k: _to_list(v) if isinstance(v, np.ndarray) else v for k, v in case.params.items()}
    return {
        "what": what,
        "device": device,
        "dtype": dtype_name(dtype),
        "input": _to_list(case.scores),
        "target": _to_list(case.target),
        "params": params,
        "cotangent": _to_list(case.cotangent),
        "expected": _to_list(expected),
        "got": _to_list(got),
        "max_abs_err": comparison.max_abs if comparison else None,
        "max_rel_err": comparison.max_rel if comparison else None,
        "snippet": snippet(target, contract, case, dtype, device),
    }


def snippet(target: str, contract: str, case: LossCase, dtype: torch.dtype, device: str) -> str:
    """Python that rebuilds the counterexample and calls the implementation and the reference."""
    arrays = {k: v for k, v in case.params.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in case.params.items() if not isinstance(v, np.ndarray)}
    lines = [
        "import numpy as np, torch",
        "from verify import contracts",
        "from verify.loading import load_target",
        f"impl = contracts.as_implementation(load_target({target!r}))",
        f"reference = contracts.get({contract!r}).reference",
        f"dtype, device = torch.{dtype_name(dtype)}, {device!r}",
        f"x = np.array({_to_list(case.scores)!r})",
        f"params = {plain!r}",
        *(f"params[{k!r}] = np.array({_to_list(v)!r})" for k, v in arrays.items()),
        "# the tensors are rounded to dtype; the reference sees the same rounded values",
        "as_tensor = lambda a: torch.tensor(a, dtype=torch.float64).to(dtype).to(device)",
        "rounded = lambda a: torch.tensor(a, dtype=torch.float64).to(dtype).double().numpy()",
        "arrays = {k for k, v in params.items() if isinstance(v, np.ndarray)}",
        "tensors = {k: as_tensor(v) if k in arrays else v for k, v in params.items()}",
        "oracle = {k: rounded(v) if k in arrays else v for k, v in params.items()}",
    ]
    if case.target is None:
        call, reference = "impl(xt, **tensors)", "(rounded(x), {})"
    elif case.target.dtype.kind == "f":
        lines.append(f"y = np.array({_to_list(case.target)!r})")
        call, reference = "impl(xt, as_tensor(y), **tensors)", "(rounded(x), rounded(y), {})"
    else:
        lines.append(f"y = np.array({_to_list(case.target)!r}, dtype=np.int64)")
        call = "impl(xt, torch.from_numpy(y).to(device), **tensors)"
        reference = "(rounded(x), y, {})"
    lines += [
        f"g = np.array({_to_list(case.cotangent)!r})  # the gradient is that of sum(g * loss)",
        "xt = as_tensor(x).requires_grad_()",
        f"got = {call}",
        "(grad,) = torch.autograd.grad(got, xt, as_tensor(g).expand_as(got))",
        f"expected = reference{reference.format('**oracle')}",
        f"expected_grad = contracts.get({contract!r}).gradient"
        f"{reference.format('rounded(g), **oracle')}",
        "print('got          ', got.detach())",
        "print('expected     ', expected)",
        "print('got grad     ', grad)",
        "print('expected grad', expected_grad)",
    ]
    return "\n".join(lines)


@dataclass
class _Context:
    impl: Implementation
    target: str
    suite: Suite
    contract: contracts.Contract
    declared: frozenset[str]
    profile: str


def _non_contiguous(tensor: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout (a permuted view of a reversed copy)."""
    if tensor.dim() < 2 or tensor.numel() < 2:
        return tensor
    order = tuple(reversed(range(tensor.dim())))
    return tensor.permute(order).contiguous().permute(order)


def _evaluate(
    ctx: _Context,
    case: LossCase,
    device: str,
    dtype: torch.dtype,
    feature: Feature | None,
    layout: str,
) -> tuple[torch.Tensor, np.ndarray]:
    inputs, params = _tensors(case, device, dtype)
    if layout == "non_contiguous":
        inputs = [_non_contiguous(t) for t in inputs]
    before = [t.clone() for t in [*inputs, *params.values()] if torch.is_tensor(t)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value, grad = value_and_grad(
                ctx.impl, inputs, cotangent=rounded(case.cotangent, dtype), **params
            )
    except (TypeError, NotImplementedError) as error:
        if _is_unsupported(error, feature) and (
            feature is None or feature.name not in ctx.declared
        ):
            raise Unsupported(str(error).splitlines()[0]) from None
        raise
    after = [t for t in [*inputs, *params.values()] if torch.is_tensor(t)]
    if any(not torch.equal(b, a) for b, a in zip(before, after, strict=True)):
        raise Deviation("the implementation mutated one of its inputs", None)
    if value.dtype != dtype or value.device.type != device:
        raise Deviation(
            f"output is {dtype_name(value.dtype)} on {value.device.type}, "
            f"expected {dtype_name(dtype)} on {device}",
            None,
        )
    return value, grad


def _assert_matches(
    ctx: _Context,
    case: LossCase,
    device: str,
    dtype: torch.dtype,
    feature: Feature | None,
    layout: str = "contiguous",
) -> None:
    value, grad = _evaluate(ctx, case, device, dtype, feature, layout)
    ref = _rounded_case(case, dtype)
    expected = ctx.contract.reference(*_oracle_inputs(ref), **ref.params)
    expected_grad = ctx.contract.gradient(*_oracle_inputs(ref), ref.cotangent, **ref.params)
    bounds = ctx.suite.bounds(ref, ref.scores)
    for what, got, want, kwargs in (
        ("value", value, expected, bounds.value),
        ("gradient", grad, expected_grad, bounds.gradient),
    ):
        if np.shape(got) != np.shape(want):
            raise Deviation(
                f"{what} has shape {tuple(np.shape(got))}, expected {tuple(np.shape(want))}",
                counterexample(
                    case, dtype, what, got, want, None, ctx.target, ctx.contract.name, device
                ),
            )
        comparison = compare(got, want, dtype=dtype, **kwargs)
        if not comparison.passed:
            raise Deviation(
                f"{what} differs: {describe(comparison)}",
                counterexample(
                    case, dtype, what, got, want, comparison, ctx.target, ctx.contract.name, device
                ),
                case,
                got,
            )


def _settings(profile: str) -> settings:
    parent = settings.get_profile(profile)
    return settings(
        parent,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[p for p in parent.phases if p is not Phase.explain],
    )


def _message(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"


def _run_property(
    ctx: _Context,
    strategy: st.SearchStrategy[LossCase],
    device: str,
    dtype: torch.dtype,
    feature: Feature | None,
    assertion: Callable[..., None] | None = None,
    max_examples: int | None = None,
) -> CheckResult:
    """Search for a counterexample with hypothesis; the first unsupported call ends the search."""
    assertion = assertion or _assert_matches
    chosen = _settings(ctx.profile)
    if max_examples is not None:
        chosen = settings(chosen, max_examples=min(max_examples, chosen.max_examples))
    if chosen.derandomize:
        provenance, seeded = f"profile {ctx.profile} (derandomized: every run draws the same)", None
    else:
        seeded = random.getrandbits(64)
        provenance = f"profile {ctx.profile}, seed {seeded}"
    failures: list[Exception] = []
    unsupported: list[Unsupported] = []

    @chosen
    @given(case=strategy)
    def search(case: LossCase) -> None:
        if unsupported:
            return
        try:
            assertion(ctx, case, device, dtype, feature)
        except Unsupported as error:
            unsupported.append(error)
        except Exception as error:
            failures.append(error)
            raise

    if seeded is not None:
        search = seed(seeded)(search)
    try:
        search()
    except Exception as error:  # hypothesis re-raises the minimal failure last
        last = failures[-1] if failures else error
        if isinstance(last, Deviation):
            if last.counterexample is not None:
                last.counterexample["seed"] = provenance
            result = CheckResult("", "failed", str(last), last.counterexample)
            result.deviation, result.strategy = last, strategy
            return result
        return CheckResult("", "error", _message(last))
    if unsupported:
        return CheckResult("", "unsupported", str(unsupported[0]))
    return CheckResult("", "passed")


def _feature_runs(suite: Suite) -> Iterable[tuple[str, Feature | None, frozenset[str], str]]:
    yield "values[core]", None, frozenset(), suite.core_reduction
    for feature in suite.features:
        if feature.name.startswith("reduction="):
            yield f"values[{feature.name}]", feature, frozenset(), feature.name.split("=")[1]
        else:
            yield (
                f"values[{feature.name}]",
                feature,
                frozenset({feature.name}),
                suite.core_reduction,
            )


def _gradcheck(
    ctx: _Context, case: LossCase, device: str, dtype: torch.dtype, feature: Feature | None
) -> None:
    inputs, params = _tensors(case, device, dtype)
    x = inputs[0].detach().clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        passed = torch.autograd.gradcheck(
            lambda s: ctx.impl(s, *inputs[1:], **params), (x,), raise_exception=False
        )
    if not passed:
        raise Deviation(
            "torch.autograd.gradcheck failed: the analytic gradient differs from finite "
            "differences",
            counterexample(
                case, dtype, "gradcheck", None, None, None, ctx.target, ctx.contract.name, device
            ),
        )


def _non_contiguous_matches(
    ctx: _Context, case: LossCase, device: str, dtype: torch.dtype, feature: Feature | None
) -> None:
    _assert_matches(ctx, case, device, dtype, feature, layout="non_contiguous")


class _Runner:
    """Runs every check of one implementation on one device and dtype, tracking features."""

    def __init__(self, ctx: _Context, report: Report):
        self.ctx, self.report = ctx, report
        self.unsupported: set[str] = set()
        self.progress: Any = None  # PROGRESS HOOK (verify.progress.Progress): told of each check

    def add(self, name: str, label: str, run: Callable[[], CheckResult]) -> None:
        if label in self.unsupported:
            self.report.checks.append(CheckResult(name, "unsupported", "probed: not accepted"))
            return
        result = run()
        result.name = name
        if result.status == "unsupported":
            self.unsupported.add(label)
        self.report.checks.append(result)
        if self.progress is not None:  # PROGRESS HOOK
            self.progress.advance(name)

    def device_dtype(self, device: str, dtype: torch.dtype) -> None:
        ctx, suite = self.ctx, self.ctx.suite
        where = f"@{device}/{dtype_name(dtype)}"
        for name, feature, features, reduction in _feature_runs(suite):
            label = feature.name if feature else "core"
            strategy = suite.cases(dtype, features, reduction)
            self.add(
                name + where,
                label,
                lambda s=strategy, f=feature: _run_property(ctx, s, device, dtype, f),
            )
        for name, case, feature_name in suite.edges():
            feature = suite.feature(feature_name) if feature_name else None
            label = feature_name or "core"
            self.add(
                f"edge[{name}]{where}",
                label,
                lambda c=case, f=feature: _single(ctx, c, device, dtype, f),
            )
        core = suite.cases(dtype, frozenset(), "none")
        self.add(
            f"non_contiguous{where}",
            "core",
            lambda: _run_property(ctx, core, device, dtype, None, _non_contiguous_matches),
        )
        if dtype == torch.float64:
            smooth = suite.smooth_cases(dtype)
            self.add(
                f"gradcheck{where}",
                "core",
                lambda: _run_property(ctx, smooth, device, dtype, None, _gradcheck, 5),
            )


def _single(
    ctx: _Context, case: LossCase, device: str, dtype: torch.dtype, feature: Feature | None
) -> CheckResult:
    try:
        _assert_matches(ctx, case, device, dtype, feature)
    except Unsupported as error:
        return CheckResult("", "unsupported", str(error))
    except Deviation as error:
        result = CheckResult("", "failed", str(error), error.counterexample)
        result.deviation = error
        return result
    except Exception as error:
        return CheckResult("", "error", _message(error))
    return CheckResult("", "passed")


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
    known_deviations: dict[str, str] | None = None,
    progress: Any = None,  # PROGRESS HOOK: a verify.progress.Progress, told of each check
) -> Report:
    """Check ``fn`` (a function or an ``nn.Module`` subclass) against ``contract``."""
    spec = contracts.get(contract)
    suite = SUITES[contract]
    impl = contracts.as_implementation(fn)
    ctx = _Context(impl, target or target_name(fn), suite, spec, frozenset(supports), profile)
    report = Report(ctx.target, contract)
    runner = _Runner(ctx, report)
    runner.progress = progress  # PROGRESS HOOK
    dtypes = tuple(dtypes)
    if progress is not None:
        progress.start(f"checking {ctx.target} against {contract}")
    for device in devices_:
        reason = devices.unavailable_reason(device)
        for dtype in dtypes:
            if reason:
                report.checks.append(
                    CheckResult(f"*@{device}/{dtype_name(dtype)}", "skipped", reason)
                )
                continue
            runner.device_dtype(device, dtype)
        if claims and not reason:
            report.checks += claim_checks(impl, contract, device, dtypes, profile)
            if progress is not None:  # PROGRESS HOOK
                progress.advance(f"claim specs@{device}")
    report.unsupported = sorted(runner.unsupported)
    report.exercised = ["core"] + [
        f.name for f in suite.features if f.name not in runner.unsupported
    ]
    report.diagnosis = diagnose(ctx, report)
    if known_deviations is not None:
        apply_known_deviations(report, known_deviations)
    report.verdict = _verdict(report)
    if progress is not None:  # PROGRESS HOOK
        progress.finish(report.verdict)
    return report


def target_name(fn: Any) -> str:
    """``module:qualname`` (or ``file.py:qualname`` for a file loaded by ``load_target``)."""
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    location = getattr(module, "__verify_location__", None) or getattr(fn, "__module__", "?")
    return f"{location}:{getattr(fn, '__qualname__', type(fn).__name__)}"


def _verdict(report: Report) -> str:
    statuses = [c.status for c in report.checks]
    if "error" in statuses and not {"passed", "failed", "known"} & set(statuses):
        return "error"  # nothing ran to completion: the implementation cannot be run at all
    if "failed" in statuses or "error" in statuses:
        return "deviates"
    if report.unsupported:
        return "conforms on the features it supports"
    return "conforms"


def conforms(report: Report) -> bool:
    return report.verdict in ("conforms", "conforms on the features it supports")


def summary(report: Report) -> str:
    counts = {s: sum(c.status == s for c in report.checks) for s in STATUSES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{report.target} against {report.contract}: {report.verdict} ({parts})"


# --- diagnosis --------------------------------------------------------------------------------


def _sample(strategy: st.SearchStrategy[LossCase], count: int) -> list[LossCase]:
    """``count`` reproducible draws from ``strategy`` (no shrinking)."""
    drawn: list[LossCase] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: LossCase) -> None:
        drawn.append(case)

    collect()
    return drawn


def _variant_explains(
    ctx: _Context, variant: Any, case: LossCase, got: Any, dtype: torch.dtype
) -> bool | None:
    """True if the output matches ``variant`` where it differs from the contract, None if moot."""
    if got is None:
        return None
    ref = _rounded_case(case, dtype)
    bounds = ctx.suite.bounds(ref, ref.scores).value
    expected = ctx.contract.reference(*_oracle_inputs(ref), **ref.params)
    with np.errstate(all="ignore"):
        value = np.asarray(variant.value(ref), dtype=np.float64)
    if value.shape != np.shape(got) or np.all(np.isnan(value)):
        return None
    if compare(value, expected, dtype=dtype, **bounds).passed:
        return None
    return compare(got, value, dtype=dtype, **bounds).passed


def _output(ctx: _Context, case: LossCase, dtype: torch.dtype) -> np.ndarray | None:
    """The implementation's value on ``case`` (on the CPU), or None if it raises."""
    inputs, params = _tensors(case, "cpu", dtype)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return devices.to_numpy(ctx.impl(*inputs, **params))
    except Exception:
        return None


def diagnose(ctx: _Context, report: Report, confirmations: int = 8) -> list[str]:
    """For each failed values check, the known convention variants the implementation follows.

    The implementation's value is taken on the counterexample and on further draws of the same
    check; a variant is named when it disagrees with the contract on at least one of them and
    the implementation matches the variant on every one where they disagree.
    """
    found: list[str] = []
    for result in report.checks:
        deviation = result.deviation
        if result.status != "failed" or deviation is None or deviation.case is None:
            continue
        if result.strategy is None:
            continue
        dtype = getattr(torch, result.counterexample["dtype"])
        cases = [deviation.case, *_sample(result.strategy, confirmations)]
        outputs = [_output(ctx, case, dtype) for case in cases]
        for variant in ctx.suite.variants:
            verdicts = [
                _variant_explains(ctx, variant, case, got, dtype)
                for case, got in zip(cases, outputs, strict=True)
            ]
            if True in verdicts and False not in verdicts:
                line = f"{result.name}: matches the reference with {variant.description}"
                if line not in found:
                    found.append(line)
    return found


# --- claims with the implementation swapped in -------------------------------------------------


def _claim_specs(contract: str) -> list[tuple[list[str], Callable[..., Any], list[dict[str, Any]]]]:
    """Every spec test whose arguments include ``contract``, with its parametrize combinations."""
    import specs  # imported here: the specs import verify, so not at module load

    found = []
    for module_info in pkgutil.iter_modules(specs.__path__):
        module = importlib.import_module(f"specs.{module_info.name}")
        for name, fn in vars(module).items():
            marks = getattr(fn, "pytestmark", [])
            claim_ids = [i for m in marks if m.name == "claim" for i in m.args]
            if not name.startswith("test_") or not claim_ids:
                continue
            if contract not in inspect.signature(fn).parameters:
                continue
            axes = []
            for mark in marks:
                if mark.name != "parametrize":
                    continue
                names = mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0]
                names = [n.strip() for n in names]
                values = [v.values if hasattr(v, "values") else v for v in mark.args[1]]
                values = [v if len(names) > 1 else (v,) for v in values]
                axes.append([dict(zip(names, v, strict=True)) for v in values])
            combos = [
                {k: v for part in parts for k, v in part.items()}
                for parts in itertools.product(*axes)
            ]
            found.append((claim_ids, fn, combos))
    return found


def claim_checks(
    impl: Implementation, contract: str, device: str, dtypes: tuple[torch.dtype, ...], profile: str
) -> list[CheckResult]:
    """Run the claim specs involving ``contract`` with ``impl`` in place of the torch one."""
    from hypothesis import settings as hypothesis_settings

    previous = hypothesis_settings.get_current_profile_name()
    hypothesis_settings.load_profile(profile)
    results = []
    try:
        for claim_ids, fn, combos in _claim_specs(contract):
            parameters = inspect.signature(fn).parameters
            marks = {m.name: m for m in getattr(fn, "pytestmark", [])}
            allowed = marks["dtypes"].args if "dtypes" in marks else devices.FLOATING_DTYPES
            chosen = [d for d in dtypes if d in allowed] if "dtype" in parameters else [None]
            # The implementation under test replaces the contract's argument in every
            # combination; combinations that differed only there collapse into one.
            combos = [{k: v for k, v in c.items() if k != contract} for c in combos]
            combos = [c for n, c in enumerate(combos) if c not in combos[:n]]
            for dtype, combo in itertools.product(chosen, combos):
                arguments = {**combo, "device": device, contract: impl}
                if dtype is not None:
                    arguments["dtype"] = dtype
                others = [n for n in parameters if n in contracts.CONTRACTS and n not in arguments]
                if any(not contracts.get(n).implementations for n in others):
                    continue  # the spec needs an implementation of a contract torch lacks
                for name in others:
                    arguments[name] = contracts.get(name).implementation("functional")
                label = ",".join(f"{k}={v}" for k, v in combo.items())
                where = f"@{device}/{dtype_name(dtype)}" if dtype is not None else f"@{device}"
                case = f"{fn.__name__}[{label}]" if label else fn.__name__
                name = f"claim[{'+'.join(claim_ids)}:{case}]{where}"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fn(**arguments)
                except pytest.skip.Exception as skip:
                    results.append(CheckResult(name, "skipped", str(skip)))
                except AssertionError as error:
                    results.append(CheckResult(name, "failed", str(error).split("\n")[0]))
                except Exception as error:
                    results.append(CheckResult(name, "error", _message(error)))
                else:
                    results.append(CheckResult(name, "passed"))
    finally:
        hypothesis_settings.load_profile(previous)
    return results


# --- known deviations ---------------------------------------------------------------------------


def read_known_deviations(text: str) -> dict[str, str]:
    """Parse a known-deviations file: ``<check name or glob>: <reason>`` lines, # comments."""
    entries = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, sep, reason = line.partition(": ")
        if not sep or not reason.strip():
            raise ValueError(f"line {number}: expected '<check>: <reason>', got {raw.strip()!r}")
        entries[pattern.strip()] = reason.strip()
    return entries


def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else, brackets included, is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def apply_known_deviations(report: Report, entries: dict[str, str]) -> None:
    """Mark matching failures 'known'; report entries that match nothing or now pass."""
    for pattern, reason in entries.items():
        matched = [c for c in report.checks if _glob(pattern).fullmatch(c.name)]
        if not matched:
            report.checks.append(
                CheckResult(
                    f"known-deviations[{pattern}]", "error", "entry matches no check: remove it"
                )
            )
            continue
        for result in matched:
            if result.status in ("failed", "error"):
                result.status, result.message = (
                    "known",
                    f"known deviation ({reason}): {result.message}",
                )
        if all(c.status == "passed" for c in matched):
            report.checks.append(
                CheckResult(
                    f"known-deviations[{pattern}]",
                    "error",
                    "the known deviation now passes: remove the entry",
                )
            )
