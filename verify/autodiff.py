"""Running an implementation under test: its value and its vector-Jacobian product.

``value_and_grad`` calls ``fn(*inputs, **params)`` on a fresh leaf copy of ``inputs[wrt]`` and
returns the value and the gradient of ``Σ cotangent · value`` with respect to that input, as a
float64 NumPy array. Using ``torch.autograd.grad`` (not ``backward``) leaves no ``.grad``
behind, so repeated calls never accumulate.

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
