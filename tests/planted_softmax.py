"""Hand-written softmax implementations (SM-1, SM-2) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_softmax.py``).
"""

from __future__ import annotations

import torch


def manual_softmax(
    *,
    subtract_max: bool = True,
    wrong_dim: bool = False,
    half_precision: bool = False,
    clamp: float = 0.0,
):
    """exp(x − max)/Σ exp(x − max) along ``dim``. Bugs: ``subtract_max=False`` is the tutorial
    form; ``wrong_dim`` normalizes over dim 0 (the batch, as an implicit dim does);
    ``half_precision`` computes in float16 and casts back (autocast-style); ``clamp`` keeps
    the outputs in [clamp, 1 − clamp], a common guard before a log."""

    def softmax(x, dim=1):
        dim = 0 if wrong_dim else dim
        y = x.half() if half_precision else x
        if subtract_max:
            y = y - y.amax(dim=dim, keepdim=True).detach()
        e = torch.exp(y)
        p = (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
        return p.clamp(clamp, 1 - clamp) if clamp else p

    return softmax
