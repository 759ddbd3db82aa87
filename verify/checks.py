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
import pytest
import torch
from torch.autograd.gradcheck import GradcheckError

from verify.autodiff import backward_limits, directional_mismatch
from verify.plugin import NO_DOUBLE_BACKWARD
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
    """Analytic against finite-difference gradients of ``fn`` at float64 ``inputs``:
    ``torch.autograd.gradcheck`` (the whole Jacobian), or, where ``fn`` refuses a second backward
    pass through one graph (``torch.compile``), ``directional_mismatch`` (one backward pass per
    forward); with ``second_order`` also ``gradgradcheck``, skipped as unsupported where ``fn``
    has no double backward (a compiled or once-differentiable implementation under test)."""
    limits = backward_limits(fn, inputs)
    if "retained graph" in limits:
        _check_directions(fn, inputs, what)
    else:
        _gradcheck(torch.autograd.gradcheck, fn, inputs, what)
    if second_order:
        if "double backward" in limits:
            pytest.skip(f"{NO_DOUBLE_BACKWARD} ({limits['double backward'][:200]})")
        _gradcheck(torch.autograd.gradgradcheck, fn, inputs, what)


def _gradcheck(
    run: Callable[..., bool], fn: Callable, inputs: Sequence[torch.Tensor], what: str
) -> None:
    try:
        run(fn, tuple(inputs))
    except GradcheckError as error:
        mismatch = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise AssertionError(
            failure_message(f"{what} ({run.__name__})", mismatch, "the finite-difference Jacobian")
        ) from None


def _check_directions(fn: Callable, inputs: Sequence[torch.Tensor], what: str) -> None:
    for i, x in enumerate(inputs):
        mismatch = directional_mismatch(lambda a, i=i: fn(*inputs[:i], a, *inputs[i + 1 :]), x)
        if mismatch is not None:
            raise AssertionError(
                failure_message(
                    f"{what} (along a random direction)",
                    f"{mismatch[0]:.9g}",
                    f"{mismatch[1]:.9g} (central differences of its own values)",
                )
            )
