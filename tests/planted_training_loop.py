"""Hand-written training loop implementations (AG-1 … AG-4) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_training_loop.py``).
"""

from __future__ import annotations

import torch

from specs import test_training_loop as ag_specs


def autograd_backward(*, overwrite=False, fused_step_lr=None):
    """``loss.backward(inputs=…)`` written with ``torch.autograd.grad``.

    Bugs: ``overwrite`` assigns ``p.grad = g`` instead of accumulating; ``fused_step_lr``
    fuses an SGD step into backward (a post-accumulate-grad hook, as in "optimizer in
    backward"), so backward itself moves the parameters.
    """

    @torch.no_grad()
    def sgd_step(p):
        p.sub_(fused_step_lr * p.grad)

    def backward(loss, inputs):
        if fused_step_lr is not None:
            handles = [p.register_post_accumulate_grad_hook(sgd_step) for p in inputs]
            loss.backward(inputs=inputs)
            for handle in handles:
                handle.remove()
            return
        for p, g in zip(inputs, torch.autograd.grad(loss, inputs), strict=True):
            p.grad = g if overwrite or p.grad is None else p.grad + g

    return backward


def planted_zero_grad_sgd(*, default_set_to_none=True, first_group_only=False, always_none=False):
    """torch.optim.SGD with a hand-written ``zero_grad``.

    Bugs: ``default_set_to_none=False`` (PyTorch's default before 2.0, still in custom
    optimizers); ``first_group_only`` clears ``param_groups[0]`` only; ``always_none``
    ignores ``set_to_none=False``.
    """

    class ZeroGradSGD(torch.optim.SGD):
        def zero_grad(self, set_to_none=default_set_to_none):
            groups = self.param_groups[:1] if first_group_only else self.param_groups
            for group in groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if set_to_none or always_none:
                        p.grad = None
                    else:
                        p.grad.detach_().zero_()

    return ZeroGradSGD


def accumulation_loop(
    *, normalize="micro-batch mean", divide_by_k=True, zero_inside=False, count_padding=False
):
    """A micro-batch loop: zero, backward per micro-batch, step, normalized by ``normalize``.

    'micro-batch mean' backpropagates mean CE (÷ k); 'global count' the summed token losses
    divided by the number of non-ignored targets over all micro-batches. Bugs:
    ``zero_inside`` calls ``zero_grad()`` in every iteration (only the last micro-batch
    survives); ``divide_by_k=False`` forgets the 1/k; ``count_padding`` counts padded
    positions in the global count.
    """

    def loop(model, optimizer, micro_batches, cross_entropy):
        optimizer.zero_grad()
        k = len(micro_batches)
        count = sum(
            y.numel() if count_padding else int((y != ag_specs.IGNORE).sum())
            for _, y in micro_batches
        )
        for x, y in micro_batches:
            if zero_inside:
                optimizer.zero_grad()
            logits, targets = model(x).flatten(0, 1), y.flatten()
            if normalize == "global count":
                loss = cross_entropy(logits, targets, reduction="sum") / count
            else:
                loss = cross_entropy(logits, targets)
                loss = loss / k if divide_by_k else loss
            loss.backward()
        optimizer.step()

    return loop
