"""Running an implementation under test: its value and its vector-Jacobian product.

``value_and_grad`` calls ``fn(*inputs, **params)`` on a fresh leaf copy of ``inputs[wrt]`` and
returns the value and the gradient of ``Σ cotangent · value`` with respect to that input, as a
float64 NumPy array. Using ``torch.autograd.grad`` (not ``backward``) leaves no ``.grad``
behind, so repeated calls never accumulate.

``assert_value_and_gradient`` is the check most specs make of an implementation: its value and
its gradient, each held to the float64 oracle with ``verify.tolerances.assert_close`` under the
tolerance arguments the spec gives for each.

``directional_mismatch`` holds a gradient to central differences of the function's own values
along random directions, one backward pass per forward: it needs no retained graph and no
double backward, so compiled functions and an ``autograd.Function`` that supports one
backward pass can be checked (``torch.autograd.gradcheck`` backpropagates through one graph
many times). ``backward_limits`` says which of those an implementation does not support.

When PyTorch reports that an op has no kernel for the dtype or device at hand, the test is
skipped with that reason: the claim is then not observed there, rather than failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from verify.devices import dtype_name, is_unsupported_error
from verify.tolerances import FD_STEP, FD_TOLERANCE, ToleranceArgs, assert_close


def call_or_skip(fn: Callable[..., torch.Tensor], *inputs: Any, **params: Any) -> torch.Tensor:
    """``fn(*inputs, **params)``, skipping the test if the op is unsupported for this dtype."""
    try:
        return fn(*inputs, **params)
    except (RuntimeError, NotImplementedError) as error:
        if is_unsupported_error(error):
            tensor = next((i for i in inputs if isinstance(i, torch.Tensor)), None)
            where = (
                f" ({dtype_name(tensor.dtype)} on {tensor.device.type})"
                if tensor is not None
                else ""
            )
            pytest.skip(f"not supported{where}: {str(error).splitlines()[0]}")
        raise


def value_and_grad(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[Any],
    *,
    cotangent: np.ndarray | float,
    wrt: int = 0,
    **params: Any,
) -> tuple[torch.Tensor, np.ndarray]:
    """Value of ``fn`` and the gradient of ``Σ cotangent·value`` with respect to ``inputs[wrt]``."""
    leaf = inputs[wrt].detach().clone().requires_grad_(True)
    args = [*inputs[:wrt], leaf, *inputs[wrt + 1 :]]
    value = call_or_skip(fn, *args, **params)
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"expected a Tensor, got {type(value).__name__}")
    if value.numel() == 0 or leaf.numel() == 0:
        return value.detach(), np.zeros(leaf.shape)
    if not value.requires_grad:
        raise AssertionError("the output does not depend on the input through autograd")
    seed = torch.as_tensor(cotangent, dtype=value.dtype, device=value.device).expand_as(value)
    (grad,) = torch.autograd.grad(value, leaf, grad_outputs=seed, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(leaf)
    return value.detach(), grad.detach().to("cpu", torch.float64).numpy()


def assert_value_and_gradient(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[Any],
    expected: torch.Tensor | np.ndarray | float,
    expected_grad: torch.Tensor | np.ndarray,
    *,
    cotangent: np.ndarray | float,
    dtype: torch.dtype,
    value_tolerance: ToleranceArgs,
    grad_tolerance: ToleranceArgs,
    what: str,
    wrt: int = 0,
    **params: Any,
) -> tuple[torch.Tensor, np.ndarray]:
    """Assert ``fn(*inputs, **params)`` ≈ ``expected`` and its gradient ≈ ``expected_grad``.

    The value and the gradient of ``Σ cotangent·value`` with respect to ``inputs[wrt]`` come
    from ``value_and_grad``; each is then held to its reference with ``assert_close`` in
    ``dtype``, the value under ``value_tolerance`` and the gradient under ``grad_tolerance``
    (``assert_close``'s ``terms``, ``condition``, ``scale`` and ``pointwise``, as the spec
    derives them). Failures name ``"{what} value"`` and ``"{what} gradient"``. Returns the
    value and the gradient, for any further check.
    """
    value, grad = value_and_grad(fn, inputs, cotangent=cotangent, wrt=wrt, **params)
    assert_close(value, expected, dtype=dtype, what=f"{what} value", **value_tolerance)
    assert_close(grad, expected_grad, dtype=dtype, what=f"{what} gradient", **grad_tolerance)
    return value, grad


def directional_mismatch(
    value: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    grad: Callable[..., tuple[torch.Tensor | None, ...]] = torch.autograd.grad,
    directions: int = 3,
) -> tuple[float, float] | None:
    """The first of ``directions`` random directions v (seeded: the same on every run) along
    which ``⟨g, value(x)⟩``'s gradient, taken by ``grad``, disagrees with central differences of
    ``value`` itself (step ``FD_STEP``, bound ``FD_TOLERANCE``): ``(analytic, numeric)``, or None.
    Nothing is compared where ``value`` does not depend on ``x`` through autograd or x is empty.
    """
    rng = np.random.default_rng(0)
    base = x.detach()
    for _ in range(directions):
        leaf = base.clone().requires_grad_(True)
        out = value(leaf)
        if not out.requires_grad or leaf.numel() == 0:
            return None
        g = torch.as_tensor(rng.standard_normal(out.shape), dtype=base.dtype, device=out.device)
        v = torch.as_tensor(rng.standard_normal(base.shape), dtype=base.dtype, device=base.device)
        (derivative,) = grad(out, leaf, g, allow_unused=True)
        analytic = 0.0 if derivative is None else float((derivative * v).sum())
        with torch.no_grad():
            plus, minus = (float((value(base + s * FD_STEP * v) * g).sum()) for s in (1, -1))
        numeric = (plus - minus) / (2 * FD_STEP)
        if not abs(numeric - analytic) <= FD_TOLERANCE.atol + FD_TOLERANCE.rtol * abs(numeric):
            return analytic, numeric
    return None


def backward_limits(
    fn: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor]
) -> dict[str, str]:
    """What of autograd ``fn`` does not support at ``inputs``, with PyTorch's reason:
    ``"retained graph"`` (a second backward pass through one forward's graph, as
    compiled functions refuse) and ``"double backward"`` (differentiating the gradient, as
    ``@once_differentiable`` and compiled functions refuse, or an ``autograd.Function`` whose
    backward computes outside autograd)."""
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    limits: dict[str, str] = {}
    if not out.requires_grad:
        return limits  # no gradient at all: for the gradient check to report
    try:
        torch.autograd.grad(out.sum(), leaves, retain_graph=True, allow_unused=True)
        torch.autograd.grad(out.sum(), leaves, allow_unused=True)
    except RuntimeError as error:
        limits["retained graph"] = str(error).splitlines()[0]
    try:
        out = fn(*leaves)
        grads = torch.autograd.grad(out.sum(), leaves, create_graph=True, allow_unused=True)
        grads = [g for g in grads if g is not None]
        if not all(g.requires_grad for g in grads):
            limits["double backward"] = "its gradient is computed outside autograd"
        elif grads:
            torch.autograd.grad(sum(g.sum() for g in grads), leaves, allow_unused=True)
    except RuntimeError as error:
        limits["double backward"] = str(error).splitlines()[0]
    return limits
