"""Cross-entropies that misbehave the ways untrusted code does (``tests/test_isolation.py``).

Each computes ``F.cross_entropy`` correctly and misbehaves only when asked for
``reduction='sum'`` of a non-empty batch with no target ignored (``values[reduction=sum]``), so
one check meets the misbehaviour and the rest show the run going on.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import torch
import torch.nn.functional as F


def _on_sum(misbehave):
    def loss(input, target, reduction="mean", **params):
        if reduction == "sum" and target.numel() and bool((target >= 0).all()):
            misbehave()
        return F.cross_entropy(input, target, reduction=reduction, **params)

    loss.__name__ = misbehave.__name__
    return loss


def _forever():
    while True:
        time.sleep(0.1)


def _flood():
    while True:
        print("x" * 1000)


def _interrupt():
    raise KeyboardInterrupt


exits = _on_sum(lambda: sys.exit(0))
exits_hard = _on_sum(lambda: os._exit(0))
segfaults = _on_sum(lambda: os.kill(os.getpid(), signal.SIGSEGV))
interrupts = _on_sum(_interrupt)
hangs = _on_sum(_forever)
floods = _on_sum(_flood)
sets_default_dtype = _on_sum(lambda: torch.set_default_dtype(torch.float64))
seeds = _on_sum(lambda: torch.manual_seed(0))
deterministic = _on_sum(lambda: torch.use_deterministic_algorithms(True))
no_grad_mode = _on_sum(lambda: torch.set_grad_enabled(False))
sets_threads = _on_sum(lambda: torch.set_num_threads(torch.get_num_threads() + 1))


def overwrites_its_input(input, target, **params):
    """Computes the loss, then reuses the caller's logits buffer (as fused kernels that store
    the gradient in place do)."""
    loss = F.cross_entropy(input, target, **params)
    with torch.no_grad():
        input.fill_(123.0)
    return loss


def declines_features(input, target, reduction="mean"):
    """A correct cross-entropy that takes no weight, ignore_index or label smoothing, and only
    class indices on (N, C)."""
    if target.dtype.is_floating_point or input.dim() != 2:
        raise NotImplementedError("class indices on (N, C) only")
    return F.cross_entropy(input, target, reduction=reduction)


def declines_none(input, target, reduction="mean", **params):
    """A correct cross-entropy that declines reduction='none' only."""
    if reduction == "none":
        raise NotImplementedError("reduction='none'")
    return F.cross_entropy(input, target, reduction=reduction, **params)


_COMPILED = []


def compiled(input, target, **params):
    """``torch.compile(F.cross_entropy)`` (aot_eager: the autograd of the default backend
    without its C++ compilation), compiled on first use so importing this module stays quick."""
    if not _COMPILED:
        _COMPILED.append(torch.compile(F.cross_entropy, backend="aot_eager"))
    return _COMPILED[0](input, target, **params)
