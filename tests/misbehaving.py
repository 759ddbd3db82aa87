"""Cross-entropies that misbehave the ways untrusted code does (``tests/test_isolation.py``).

``one_of_each`` computes ``F.cross_entropy`` correctly and misbehaves differently in each of
several checks, each recognised by its inputs (``MISBEHAVIOURS``), so that one run shows every
misbehaviour reported and the run going on after each.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import torch
import torch.nn.functional as F


def _forever() -> None:
    while True:
        time.sleep(0.1)


def _flood() -> None:
    while True:
        print("x" * 1000)


def _interrupt() -> None:
    raise KeyboardInterrupt


def _overwrite(input: torch.Tensor) -> None:
    with torch.no_grad():
        input.fill_(123.0)


def _which(input, target, reduction, params) -> str | None:
    """The check this call belongs to, from what only that check passes."""
    ignore = params.get("ignore_index")
    kept = target.numel() and (ignore is None or bool((target != ignore).any()))
    if target.is_floating_point():
        return "values[probability_targets]"
    if input.dim() > 2:
        return "values[k_dim]"
    if "weight" in params:
        return "values[weight]"
    if "label_smoothing" in params:
        return "values[label_smoothing]"
    if ignore is not None and not kept:  # every target ignored: only the 'sum' edge misbehaves
        return "edge[all_ignored, sum]" if reduction == "sum" else None
    if ignore is not None:
        return "values[ignore_index]"
    if not target.numel():
        return {"sum": "edge[empty_batch, sum]", "none": "edge[empty_batch, none]"}.get(reduction)
    if not input.is_contiguous():
        return "non_contiguous"
    return {"sum": "values[reduction=sum]", "none": "values[reduction=none]"}.get(reduction)


# check: (what it does, what the report must say)
MISBEHAVIOURS = {
    # an input kind's check: any error there declines the kind, but an exit is no error of its
    "values[k_dim]": (lambda x: sys.exit(0), "error", "SystemExit (sys.exit(0))"),
    "values[ignore_index]": (lambda x: _interrupt(), "error", "raised KeyboardInterrupt"),
    "values[reduction=none]": (
        lambda x: os._exit(0),
        "error",
        "the worker process exited with status 0",
    ),
    "values[weight]": (
        lambda x: os.kill(os.getpid(), signal.SIGSEGV),
        "error",
        "the worker process killed by signal SIGSEGV",
    ),
    "values[label_smoothing]": (lambda x: _forever(), "error", "timed out"),
    "edge[empty_batch, none]": (lambda x: _flood(), "error", "timed out"),
    "values[reduction=sum]": (
        lambda x: torch.set_default_dtype(torch.float64),
        "failed",
        "default dtype: torch.float32 → torch.float64",
    ),
    "values[probability_targets]": (
        lambda x: torch.manual_seed(0),
        "failed",
        "CPU random number generator state changed",
    ),
    "non_contiguous": (
        lambda x: torch.set_grad_enabled(False),
        "failed",
        "grad mode: True → False",
    ),
    "edge[empty_batch, sum]": (
        lambda x: torch.set_num_threads(torch.get_num_threads() + 1),
        "failed",
        "number of threads",
    ),
    "edge[all_ignored, sum]": (_overwrite, "failed", "wrote into its caller's input"),
}


def one_of_each(input, target, reduction="mean", **params):
    misbehave = MISBEHAVIOURS.get(_which(input, target, reduction, params))
    if misbehave is not None:
        misbehave[0](input)
    return F.cross_entropy(input, target, reduction=reduction, **params)


def deterministic(input, target, **params):
    """Turns on deterministic algorithms (its first use takes seconds to tens of seconds)."""
    torch.use_deterministic_algorithms(True)
    return F.cross_entropy(input, target, **params)


def always_exits(input, target, **params):
    """Ends its process without a word on every call."""
    os._exit(3)


def declines_features(input, target, reduction="mean"):
    """A correct cross-entropy that takes no weight, ignore_index or label smoothing, and only
    class indices: probability targets fail inside ``nll_loss``, as they do in honest code that
    never meant to take them (no NotImplementedError)."""
    return F.nll_loss(input.log_softmax(1), target, reduction=reduction)


def declines_none(input, target, reduction="mean", **params):
    """A correct cross-entropy that declines reduction='none' only."""
    if reduction == "none":
        raise NotImplementedError("reduction='none'")
    return F.cross_entropy(input, target, reduction=reduction, **params)


def declines_strong_smoothing(input, target, label_smoothing=0.0, **params):
    """A correct cross-entropy that declines label smoothing above 0.5 only: the rest of the
    feature is taken."""
    if label_smoothing > 0.5:
        raise NotImplementedError("label_smoothing above 0.5")
    return F.cross_entropy(input, target, label_smoothing=label_smoothing, **params)


_COMPILED = []


def compiled(input, target, **params):
    """``torch.compile(F.cross_entropy)`` (aot_eager: the autograd of the default backend
    without its C++ compilation), compiled on first use so importing this module stays quick."""
    if not _COMPILED:
        _COMPILED.append(torch.compile(F.cross_entropy, backend="aot_eager"))
    return _COMPILED[0](input, target, **params)
