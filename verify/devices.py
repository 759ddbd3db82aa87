"""The devices and floating dtypes the specs run on, and moving test inputs onto them.

Every spec runs once per device in ``DEVICES``; a device that is absent on this machine is
still collected and skipped with ``unavailable_reason(device)``, never silently dropped.
Inputs are generated on the CPU (as float64 NumPy arrays) and moved, so that a CPU run and a
CUDA run see the same examples.
"""

from __future__ import annotations

import numpy as np
import torch

DEVICES: tuple[str, ...] = ("cpu", "cuda")
FLOATING_DTYPES: tuple[torch.dtype, ...] = (
    torch.float64,
    torch.float32,
    torch.float16,
    torch.bfloat16,
)


def is_available(device: str) -> bool:
    """Whether ``device`` ('cpu' or 'cuda') can run tensors on this machine."""
    if device == "cpu":
        return True
    if device == "cuda":
        return torch.cuda.is_available()
    raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")


def unavailable_reason(device: str) -> str | None:
    """Why ``device`` cannot run here (``None`` when it can)."""
    if is_available(device):
        return None
    return f"{device.upper()} not available"


def dtype_name(dtype: torch.dtype) -> str:
    """'float32' for ``torch.float32``: the id used in test names and reports."""
    return str(dtype).removeprefix("torch.")


def is_unsupported_error(error: BaseException) -> bool:
    """Whether ``error`` is PyTorch saying an op has no kernel for a dtype or device."""
    message = str(error)
    return isinstance(error, (RuntimeError, NotImplementedError)) and (
        "not implemented for" in message or "no kernel" in message.lower()
    )


def to_device(
    array: np.ndarray,
    device: str,
    dtype: torch.dtype | None = None,
    *,
    requires_grad: bool = False,
) -> torch.Tensor:
    """Tensor of ``array`` cast to ``dtype`` (floating arrays only) on ``device``.

    The cast happens on the CPU, before the move, so every device sees the same rounded values.
    The tensor owns a copy: nothing done to it reaches ``array``.
    """
    tensor = torch.from_numpy(np.array(array, copy=True))
    if dtype is not None and tensor.is_floating_point():
        tensor = tensor.to(dtype)
    tensor = tensor.to(device)
    return tensor.requires_grad_(requires_grad)


def rounded(array: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """``array`` rounded to ``dtype`` and back to float64: what the oracle must be given."""
    return torch.from_numpy(np.asarray(array, dtype=np.float64)).to(dtype).double().numpy()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Float64 NumPy copy of a (possibly CUDA, low-precision) tensor."""
    return tensor.detach().to("cpu", torch.float64).numpy()


def params_to_device(params: dict, device: str, dtype: torch.dtype) -> dict:
    """Keyword params with every NumPy array turned into a tensor in ``dtype`` on ``device``."""
    return {
        k: to_device(v, device, dtype) if isinstance(v, np.ndarray) else v
        for k, v in params.items()
    }


def params_rounded(params: dict, dtype: torch.dtype) -> dict:
    """Keyword params for the oracle: floating arrays rounded to ``dtype`` as the tensors are."""
    return {
        k: rounded(v, dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for k, v in params.items()
    }
