"""Liger-Kernel's Triton cross-entropy kernels (``liger_kernel.transformers``).

Without a GPU the kernels run on CPU tensors in Triton's interpreter (``TRITON_INTERPRET=1``,
set by ``tox -e liger``). Two interpreter facts shape how they are checked:

- compiled Triton passes a Python float argument to a kernel as an fp32 scalar; the interpreter
  passes the float itself, and Liger's ``sum_non_ignore_weight.to(tl.float32)`` then fails
  (every call with ``weight``). ``_floats_as_fp32`` makes the interpreter convert as compiled
  Triton does; it changes how arguments reach the kernel, not what the kernel computes;
- bf16 arithmetic is wrong in the interpreter, so bf16 is not judged here (fp16 and fp32 are).

Policy on dtypes: Liger computes in fp32 by design, so it is checked in float32 and float16
(``verify.adapters.registry`` passes ``--dtype float32 --dtype float16``); a float64 check would
only restate that design.

Liger writes the gradient into the logits it is given during the forward when they require
grad (its memory saving: "store X_ptr gradient in X_ptr"): after the call, the caller's logits
hold the gradient. The adapter calls it as a user does and leaves that visible.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import triton.language as tl
from liger_kernel.transformers import LigerCrossEntropyLoss, LigerFusedLinearCrossEntropyLoss

from verify.adapters import require_class_scores, signatures


def _floats_as_fp32() -> None:
    """In the interpreter, pass Python floats to kernels as fp32 scalars (as compiled Triton)."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    from triton.runtime import interpreter

    original = interpreter._implicit_cvt
    if getattr(original, "floats_as_fp32", False):
        return

    def convert(arg: object) -> object:
        if isinstance(arg, float):
            handle = interpreter.TensorHandle(np.array([arg], dtype=np.float32), tl.float32)
            return tl.tensor(handle, tl.float32)
        return original(arg)

    convert.floats_as_fp32 = True  # type: ignore[attr-defined]
    interpreter._implicit_cvt = convert


_floats_as_fp32()


def _options(p: signatures.CEParams) -> dict[str, object]:
    """The contract's parameters that both Liger losses take under the contract's names."""
    return {
        "ignore_index": p.ignore_index,
        "label_smoothing": p.label_smoothing,
        "reduction": p.reduction,
    }


@signatures.cross_entropy
def cross_entropy(
    input: torch.Tensor, target: torch.Tensor, p: signatures.CEParams
) -> torch.Tensor:
    """``cross_entropy`` contract: ``LigerCrossEntropyLoss`` on (N, C) logits and class indices,
    the parameters under the same names."""
    require_class_scores("LigerCrossEntropyLoss", input, target)
    loss = LigerCrossEntropyLoss(weight=p.weight, **_options(p))
    return loss(input, target)


@signatures.cross_entropy
def fused_linear_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, p: signatures.CEParams
) -> torch.Tensor:
    """``cross_entropy`` contract through ``LigerFusedLinearCrossEntropyLoss``, which takes the
    hidden states and the output layer's weight and computes CE(hidden @ Wᵀ, target) in chunks:
    here the hidden states are the logits (N, C) and W the identity (C, C), so hidden @ Wᵀ is
    the logits exactly and the loss and its gradient come from Liger's fused kernel. The
    contract's class ``weight`` is Liger's ``ce_weight``."""
    require_class_scores("LigerFusedLinearCrossEntropyLoss", input, target)
    identity = torch.eye(input.shape[1], dtype=input.dtype, device=input.device)
    loss = LigerFusedLinearCrossEntropyLoss(ce_weight=p.weight, **_options(p))
    return loss(identity, input, target)
