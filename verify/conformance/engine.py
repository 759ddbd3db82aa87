"""Running planned checks (``verify.conformance.plan``) on one implementation, in this process.

The worker process (``verify.conformance.worker``) runs an ``Engine``; so does an in-process
check of an implementation that cannot travel to a worker. A check's outcome is a
``CheckResult``; a failed values check also carries its diagnosis.

Declining: a TypeError "unexpected keyword argument 'P'" for the parameter of a feature the
check needs, a NotImplementedError, or a ValueError or an assertion of its own raised where
the check adds exactly one feature to the core case (any error, where that feature is an input
kind such as probability targets), means the implementation declines that case (unless the
user declared the feature supported). The search goes on past a declined
case; a check whose every case was declined is *unsupported*, and so is every later check that
needs the same feature (a value it declines, such as ε = 1, declines that value only). The
core case cannot be declined: there it is an error.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from verify import checks
from verify.conformance.diagnosis import diagnose
from verify.conformance.evaluation import (
    Aborted,
    Caller,
    Deviation,
    Target,
    assert_consistent_gradient,
    assert_matches,
)
from verify.conformance.known_deviations import KnownDeviation, case_scope
from verify.conformance.plan import PlannedCheck
from verify.conformance.results import CheckResult
from verify.devices import is_unsupported_error
from verify.strategies import LossCase

GRADCHECK_EXAMPLES = 5
_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")


class Declined(Exception):
    """The implementation declined what the check needs; ``feature`` if one can be named."""

    def __init__(self, message: str, feature: str | None):
        super().__init__(message)
        self.feature = feature


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"


@dataclass
class Engine:
    """Runs checks of one implementation against one contract (see the module docstring)."""

    caller: Caller
    target: Target
    profile: str
    declared: frozenset[str] = frozenset()
    known: tuple[KnownDeviation, ...] = ()
    declined: set[str] = field(default_factory=set)

    def run(self, planned: PlannedCheck) -> CheckResult:
        needs = [f for f in planned.features if f in self.declined]
        if needs:
            result = CheckResult("", "unsupported", f"needs {needs[0]}, which it declined")
        else:
            result = self._dispatch(planned)
        result.name = planned.name
        return result

    def _dispatch(self, planned: PlannedCheck) -> CheckResult:
        matrix, dtype, device = self.target.matrix, planned.torch_dtype, planned.device
        if planned.kind == "edge":
            edge = next(e for e in matrix.edges() if e.name == planned.edge)
            return self._search(planned, st.just(edge.case), self._values_check(planned), 1)
        if planned.kind == "gradcheck":
            strategy = matrix.smooth_cases(dtype)

            def consistent(case: LossCase) -> None:
                with checks.running(self._context(case, planned)):
                    assert_consistent_gradient(self.caller, self.target, case, device, dtype)

            return self._search(planned, strategy, consistent, GRADCHECK_EXAMPLES)
        kinds = frozenset(f for f in planned.features if not f.startswith("reduction="))
        reduction = planned.reduction or matrix.core_reduction
        strategy = matrix.cases(dtype, kinds, reduction)
        return self._search(planned, strategy, self._values_check(planned))

    def _values_check(self, planned: PlannedCheck) -> Callable[[LossCase], None]:
        layout = "non_contiguous" if planned.kind == "non_contiguous" else "contiguous"

        def matches(case: LossCase) -> None:
            with checks.running(self._context(case, planned)):
                assert_matches(
                    self.caller, self.target, case, planned.device, planned.torch_dtype, layout
                )

        return matches

    def _context(self, case: LossCase, planned: PlannedCheck) -> checks.Context:
        """What a failure message names: the contract, the implementation, the case's
        parameters (arrays by shape), device and dtype."""
        params = ", ".join(
            f"{k}=<{v.dtype} array {v.shape}>" if isinstance(v, np.ndarray) else f"{k}={v!r}"
            for k, v in case.params.items()
        )
        return checks.Context(
            claim=f"{self.target.contract.name} contract",
            implementation=self.caller.impl.name,
            params=params or "-",
            device=planned.device,
            dtype=planned.dtype,
        )

    def _declined(self, error: BaseException, planned: PlannedCheck) -> Declined | None:
        """The decline ``error`` expresses, or None when it is a plain error."""
        features = [f for f in planned.features if f not in self.declared]
        if isinstance(error, TypeError) and (match := _KEYWORD.search(str(error))):
            named = [f for f in features if self.target.matrix.feature(f).param == match[1]]
            return Declined(_first_line(error), named[0]) if named else None
        input_kind = (
            len(features) == 1 and self.target.matrix.feature(features[0]).used_by is not None
        )
        own = not isinstance(error, Deviation | Aborted)  # not a deviation, exit or interrupt
        refused = own and (isinstance(error, ValueError | AssertionError) or input_kind)
        explicit = isinstance(error, NotImplementedError) or (refused and len(features) == 1)
        if explicit and features:
            return Declined(_first_line(error), features[0] if len(features) == 1 else None)
        return None

    def _settings(self, max_examples: int | None) -> settings:
        parent = settings.get_profile(self.profile)
        chosen = settings(
            parent,
            database=None,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=[p for p in parent.phases if p is not Phase.explain],
        )
        if max_examples is not None:
            chosen = settings(chosen, max_examples=min(max_examples, chosen.max_examples))
        return chosen

    def _accepted(self, planned: PlannedCheck, case: LossCase) -> KnownDeviation | None:
        scope = case_scope(case, planned.edge)
        return next((k for k in self.known if k.where and k.accepts(planned.name, scope)), None)

    def _search(
        self,
        planned: PlannedCheck,
        strategy: st.SearchStrategy[LossCase],
        check: Callable[[LossCase], None],
        max_examples: int | None = None,
    ) -> CheckResult:
        """Look for a counterexample with hypothesis; a decline ends the search."""
        chosen = self._settings(max_examples)
        outcome = _Outcome()

        @chosen
        @given(case=strategy)
        def search(case: LossCase) -> None:
            if outcome.skipped:
                return
            try:
                check(case)
            except Deviation as error:
                if (entry := self._accepted(planned, case)) is not None:
                    outcome.accepted.append((entry, error))
                    return
                outcome.failures.append(error)
                raise
            except Exception as error:
                if is_unsupported_error(error):
                    outcome.skipped = _first_line(error)
                    return
                if (declined := self._declined(error, planned)) is not None:
                    outcome.declined.append(declined)  # that case only: the search goes on
                    return
                outcome.failures.append(error)
                raise
            outcome.ran += 1

        provenance = self._provenance(chosen)
        if not chosen.derandomize:
            search = seed(int(provenance.rsplit(" ", 1)[1]))(search)
        try:
            search()
        except Exception as error:  # hypothesis re-raises the minimal failure last
            return self._failure(
                planned, outcome.failures[-1] if outcome.failures else error, strategy, provenance
            )
        return outcome.result(self.declined)

    def _provenance(self, chosen: settings) -> str:
        if chosen.derandomize:
            return f"profile {self.profile} (derandomized: every run draws the same)"
        return f"profile {self.profile}, seed {random.getrandbits(64)}"

    def _failure(
        self,
        planned: PlannedCheck,
        error: BaseException,
        strategy: st.SearchStrategy[LossCase],
        provenance: str,
    ) -> CheckResult:
        if not isinstance(error, Deviation):
            status = "error"
            message = str(error) if isinstance(error, Aborted) else _first_line(error)
            if (
                planned.kind == "values"
                and not planned.features
                and isinstance(error, TypeError | NotImplementedError)
            ):
                message = f"declines the contract's core case: {message}"
            return CheckResult("", status, message)
        if error.counterexample is not None:
            error.counterexample["seed"] = provenance
        result = CheckResult("", "failed", str(error), error.counterexample)
        if error.case is not None and planned.kind == "values":
            result.diagnosis = diagnose(
                self.caller, self.target, error.case, planned.torch_dtype, strategy
            )
        return result


@dataclass
class _Outcome:
    """What a search saw besides a failure: declines, a skip, accepted known deviations."""

    failures: list[BaseException] = field(default_factory=list)
    declined: list[Declined] = field(default_factory=list)
    ran: int = 0  # cases that ran through (not declined)
    skipped: str | None = None
    accepted: list[tuple[KnownDeviation, Deviation]] = field(default_factory=list)

    def result(self, declined_features: set[str]) -> CheckResult:
        if self.declined and not self.ran and not self.accepted:
            first = self.declined[0]
            if first.feature is not None:
                declined_features.add(first.feature)
            return CheckResult("", "unsupported", f"declined: {first}")
        if self.skipped is not None:
            return CheckResult("", "skipped", f"not supported here: {self.skipped}")
        if self.accepted:
            entry, first = self.accepted[0]
            return CheckResult(
                "", "known", f"known deviation ({entry.reason}) where {entry.label}: {first}"
            )
        partly = (
            f"declined {len(self.declined)} case(s): {self.declined[0]}" if self.declined else ""
        )
        return CheckResult("", "passed", partly)
