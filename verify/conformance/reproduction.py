"""Reproducing a failure: the counterexample as plain data, and Python that rebuilds it.

``counterexample`` records the failing inputs (as the float64 values that were rounded to the
dtype under test), what was expected and got, and ``snippet``: a few lines a user can paste to
call the implementation and the reference on exactly those inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from verify.devices import dtype_name
from verify.strategies import LossCase


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
