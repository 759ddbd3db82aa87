"""Calling the implementation under test and holding one result to the contract.

Every call goes through ``Caller``: it starts the per-call clock that the harness watches for
hangs, turns ``SystemExit``/``KeyboardInterrupt`` raised inside the implementation into an
error of the check (the worker lives on), and compares global torch state before and after
(``verify.conformance.state``), restoring it and reporting what changed.

``evaluate`` hands the implementation the very tensors it then inspects, so a loss that writes
into its caller's input, target or weight (as some fused kernels write the gradient into the
logits) is caught; ``assert_matches`` compares value and gradient with the oracle under the
contract's bounds; ``assert_consistent_gradient`` compares the gradient with finite differences of
the implementation's own values, with one backward pass per forward (so compiled functions and
``autograd.Function``\\ s without double backward can be checked).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from verify import contracts
from verify.autodiff import directional_mismatch
from verify.checks import failure_message
from verify.conformance import state
from verify.conformance.reproduction import counterexample
from verify.devices import dtype_name, params_rounded, params_to_device, rounded, to_device
from verify.strategies import LossCase
from verify.tolerances import compare, got_and_expected


class Deviation(AssertionError):
    """The implementation does something the contract does not; may carry a counterexample."""

    def __init__(
        self,
        message: str,
        counterexample: dict[str, Any] | None = None,
        case: LossCase | None = None,
        got: Any = None,
    ):
        super().__init__(message)
        self.counterexample = counterexample
        self.case, self.got = case, got


class Aborted(Exception):
    """The implementation raised SystemExit or KeyboardInterrupt: an error of the check."""


class Clock:
    """The per-call clock; the worker's version tells the harness when a call started."""

    def start(self) -> None:
        """A call into the implementation begins."""

    def stop(self) -> None:
        """It returned (or raised)."""


@dataclass
class Caller:
    """Calls the implementation, guarded (see the module docstring)."""

    impl: contracts.Implementation
    clock: Clock

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        before = state.snapshot()
        self.clock.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt) as error:
            raise Aborted(f"the implementation raised {_describe_abort(error)}") from None
        finally:
            self.clock.stop()
            changed = state.changes(before)
            if changed:
                state.restore(before)
                raise Deviation(
                    failure_message("global torch state", "; ".join(changed), "unchanged")
                )

    def loss(self, *inputs: Any, **params: Any) -> Any:
        return self(self.impl, *inputs, **params)


def _describe_abort(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit (sys.exit({error.code!r}))"
    return type(error).__name__


@dataclass(frozen=True)
class Target:
    """What a check compares against: the contract (its feature matrix), and the name in
    reports."""

    name: str
    contract: contracts.Contract

    @property
    def matrix(self) -> contracts.FeatureMatrix:
        return self.contract.conformance


def tensors(case: LossCase, device: str, dtype: torch.dtype) -> tuple[list[Any], dict[str, Any]]:
    """The case's inputs and parameters as tensors on ``device`` (floating ones in ``dtype``)."""
    inputs = [to_device(case.scores, device, dtype)]
    if case.target is not None:
        target_dtype = dtype if case.target.dtype.kind == "f" else None
        inputs.append(to_device(case.target, device, target_dtype))
    return inputs, params_to_device(case.params, device, dtype)


def rounded_case(case: LossCase, dtype: torch.dtype) -> LossCase:
    """The case as the implementation sees it: every floating array rounded to ``dtype``."""
    target = case.target
    if target is not None and target.dtype.kind == "f":
        target = rounded(target, dtype)
    cotangent = rounded(case.cotangent, dtype)
    return LossCase(
        rounded(case.scores, dtype), target, params_rounded(case.params, dtype), cotangent
    )


def oracle_inputs(case: LossCase) -> tuple[np.ndarray, ...]:
    """The oracle's positional inputs: the scores, and the target unless the loss takes none."""
    return (case.scores,) if case.target is None else (case.scores, case.target)


def non_contiguous(tensor: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout (a permuted view of a reversed copy)."""
    if tensor.dim() < 2 or tensor.numel() < 2:
        return tensor
    order = tuple(reversed(range(tensor.dim())))
    return tensor.permute(order).contiguous().permute(order)


def _passed_tensors(inputs: list[Any], params: dict[str, Any]) -> dict[str, torch.Tensor]:
    named = {"input": inputs[0]}
    if len(inputs) > 1:
        named["target"] = inputs[1]
    named.update({k: v for k, v in params.items() if torch.is_tensor(v)})
    return named


def _same(after: torch.Tensor, before: torch.Tensor) -> bool:
    after = after.detach()
    if torch.equal(after, before):
        return True
    return (
        after.shape == before.shape
        and after.is_floating_point()
        and torch.equal(after.isnan(), before.isnan())
        and torch.equal(after.nan_to_num(), before.nan_to_num())
    )


def _assert_unmutated(passed: dict[str, torch.Tensor], before: dict[str, torch.Tensor]) -> None:
    changed = [name for name, tensor in passed.items() if not _same(tensor, before[name])]
    if changed:
        raise Deviation(
            failure_message(
                "caller's tensors", f"wrote into its caller's {', '.join(changed)}", "none written"
            )
        )


def _assert_output(value: Any, case: LossCase, device: str, dtype: torch.dtype) -> None:
    """A tensor of the input's dtype, on its device, and of the cotangent's shape where the
    case gives one (the positions for 'none'); ``assert_matches`` compares it with the oracle's."""
    if not isinstance(value, torch.Tensor):
        raise Deviation(failure_message("output", f"a {type(value).__name__}", "a Tensor"))
    if value.dtype != dtype or value.device.type != device:
        raise Deviation(
            failure_message(
                "output",
                f"{dtype_name(value.dtype)} on {value.device.type}",
                f"{dtype_name(dtype)} on {device}",
            )
        )
    expected = np.shape(case.cotangent)  # a scalar cotangent stands for any shape
    if expected and tuple(value.shape) != expected:
        raise Deviation(
            failure_message("output", f"shape {tuple(value.shape)}", f"shape {expected}")
        )


def evaluate(
    caller: Caller,
    case: LossCase,
    device: str,
    dtype: torch.dtype,
    layout: str = "contiguous",
) -> tuple[torch.Tensor, np.ndarray]:
    """The implementation's value on ``case`` and the gradient of Σ cotangent·value with
    respect to its input, as float64 NumPy; Deviation on mutation, wrong type, dtype or device."""
    inputs, params = tensors(case, device, dtype)
    if layout == "non_contiguous":
        inputs = [non_contiguous(t) for t in inputs]
    inputs[0].requires_grad_(True)
    passed = _passed_tensors(inputs, params)
    before = {k: t.detach().clone() for k, t in passed.items()}
    value = caller.loss(*inputs, **params)
    _assert_unmutated(passed, before)
    _assert_output(value, case, device, dtype)
    leaf = inputs[0]
    if value.numel() == 0 or leaf.numel() == 0:
        return value.detach(), np.zeros(leaf.shape)
    if not value.requires_grad:
        raise Deviation(
            failure_message(
                "gradient",
                "none (the output does not depend on the input through autograd)",
                "one",
            )
        )
    seed = torch.as_tensor(rounded(case.cotangent, dtype), dtype=value.dtype, device=value.device)
    (grad,) = caller(torch.autograd.grad, value, leaf, seed.expand_as(value), allow_unused=True)
    _assert_unmutated(passed, before)
    grad = torch.zeros_like(leaf) if grad is None else grad
    return value.detach(), grad.detach().to("cpu", torch.float64).numpy()


def assert_matches(
    caller: Caller,
    target: Target,
    case: LossCase,
    device: str,
    dtype: torch.dtype,
    layout: str = "contiguous",
) -> None:
    """Value and gradient on ``case`` match the oracle within the contract's bounds."""
    value, grad = evaluate(caller, case, device, dtype, layout)
    ref = rounded_case(case, dtype)
    contract = target.contract
    expected = contract.reference(*oracle_inputs(ref), **ref.params)
    expected_grad = contract.gradient(*oracle_inputs(ref), ref.cotangent, **ref.params)
    bounds = target.matrix.bounds(ref, ref.scores)
    for what, got, want, kwargs in (
        ("value", value, expected, bounds.value),
        ("gradient", grad, expected_grad, bounds.gradient),
    ):
        example = None
        if np.shape(got) != np.shape(want):
            message = failure_message(
                what, f"shape {tuple(np.shape(got))}", f"shape {tuple(np.shape(want))}"
            )
        else:
            comparison = compare(got, want, dtype=dtype, **kwargs)
            if comparison.passed:
                continue
            message = failure_message(what, *got_and_expected(comparison))
            example = comparison
        raise Deviation(
            message,
            counterexample(
                case, dtype, what, got, want, example, target.name, contract.name, device
            ),
            case,
            got,
        )


def assert_consistent_gradient(
    caller: Caller, target: Target, case: LossCase, device: str, dtype: torch.dtype
) -> None:
    """The gradient agrees with central differences of the implementation's own values, along
    three random directions (float64; one backward pass per forward). A value that does not
    depend on the input is left to the values check, which reports the missing gradient."""
    inputs, params = tensors(case, device, dtype)
    mismatch = directional_mismatch(
        lambda x: caller.loss(x, *inputs[1:], **params),
        inputs[0],
        grad=lambda *args, **kwargs: caller(torch.autograd.grad, *args, **kwargs),
    )
    if mismatch is not None:
        analytic, numeric = mismatch
        raise Deviation(
            failure_message(
                "gradient along a random direction",
                f"{analytic:.9g}",
                f"{numeric:.9g} (central differences of the implementation's own values)",
            ),
            counterexample(
                case,
                dtype,
                "gradcheck",
                analytic,
                numeric,
                None,
                target.name,
                target.contract.name,
                device,
            ),
        )
