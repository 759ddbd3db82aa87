"""The checking layer of the specs: one failure-message voice, and checks against float64
references with bounds from ``verify.tolerances`` (values and gradients of an implementation
against its oracle: ``verify.autodiff.assert_value_and_gradient``; several pairs at once:
``check_pairs``; analytic against finite-difference gradients: ``check_gradients``).

Every failure reads ``"<what>: got <X>, expected <Y> [<claim>, <implementation>, <params>,
<device>/<dtype>]"``. The bracket comes from the running spec (``specs/conftest.py`` sets it
from the test's ``claim`` marker and parameters); a spec called directly, as the planted-bug
tests do, has no such context and shows ``-`` where it is unknown, unless the caller names it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch.autograd.gradcheck import GradcheckError

from verify.tolerances import Comparison, assert_close, compare, describe


@dataclasses.dataclass(frozen=True)
class Context:
    """Where a check runs: the claim id(s), the implementation, its parameters, device, dtype."""

    claim: str = "-"
    implementation: str = "-"
    params: str = "-"
    device: str = "-"
    dtype: str = "-"


UNKNOWN = Context()
_CONTEXT: ContextVar[Context] = ContextVar("check_context", default=UNKNOWN)


@contextlib.contextmanager
def running(context: Context) -> Iterator[None]:
    """Name ``context`` in every failure message raised inside the block."""
    token = _CONTEXT.set(context)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def failure_message(what: str, got: object, expected: object, **context: str) -> str:
    """``"<what>: got <got>, expected <expected> [claim, implementation, params, device/dtype]"``;
    ``context`` overrides fields of the running spec's context (e.g. ``dtype="float32"``)."""
    where = dataclasses.replace(_CONTEXT.get(), **{k: v for k, v in context.items() if v})
    return (
        f"{what}: got {got}, expected {expected} "
        f"[{where.claim}, {where.implementation}, {where.params}, {where.device}/{where.dtype}]"
    )


def check(condition: bool | np.bool_, what: str, got: object, expected: object) -> None:
    """Fail with the one message voice unless ``condition`` holds."""
    if not condition:
        raise AssertionError(failure_message(what, got, expected))


def check_differs(actual: Any, other: Any, what: str, **tolerance: Any) -> Comparison:
    """Fail unless ``actual`` and ``other`` differ by more than the rounding bound
    ``verify.tolerances.compare`` derives from ``tolerance`` (a counterexample must be one)."""
    comparison = compare(actual, other, **tolerance)
    check(not comparison.passed, what, describe(comparison), "a difference beyond the bound")
    return comparison


def check_pairs(
    pairs: Iterable[tuple[Any, Any, float | None, str]],
    *,
    dtype: torch.dtype,
    what: str = "",
    **tolerance: Any,
) -> None:
    """Each ``(actual, expected, scale, name)`` of ``pairs`` within the bound for ``dtype``
    (``verify.tolerances.assert_close`` with ``tolerance``'s terms, condition, pointwise and the
    pair's scale), failing as ``"<what><name>"``."""
    for actual, expected, scale, name in pairs:
        assert_close(actual, expected, dtype=dtype, scale=scale, what=f"{what}{name}", **tolerance)


def check_gradients(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    *,
    what: str = "gradient",
    second_order: bool = False,
) -> None:
    """Analytic against finite-difference gradients (``torch.autograd.gradcheck``, and
    ``gradgradcheck`` with ``second_order``) of ``fn`` at float64 ``inputs``."""
    runs = {"gradcheck": torch.autograd.gradcheck}
    if second_order:
        runs["gradgradcheck"] = torch.autograd.gradgradcheck
    for name, run in runs.items():
        try:
            run(fn, tuple(inputs))
        except GradcheckError as error:
            mismatch = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise AssertionError(
                failure_message(f"{what} ({name})", mismatch, "the finite-difference Jacobian")
            ) from None
