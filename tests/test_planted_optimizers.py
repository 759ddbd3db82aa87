"""The optimizer and training-loop specs fail on planted, realistic bugs, and pass without them.

Each planted implementation below is hand-written from torch primitives; with its switches
off it computes the right thing (the controls show the spec accepts it), and each switch
plants one bug seen in real code: an Adam whose "L2" decay is really decoupled, an AdamW that
is really Adam + L2 or forgets the lr in its decay, an optimizer that applies the default
decay to every parameter group, a hand-written sign with sign(0) = 1, an optimizer that
snaps weights to zero, a soft threshold without its clamp, a regularizer computed on
detached weights, a backward that overwrites ``.grad``, an optimizer step fused into
backward, an update that rebinds instead of writing in place, ``zero_grad`` with the
pre-2.0 default or only for the first group, and gradient-accumulation loops that zero
inside the loop, forget 1/k, or normalize by the wrong count.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from specs import test_optimizers as opt_specs
from specs import test_training_loop as loop_specs
from tests import planted
from tests.planting import CPU32, CPU64, spec_failure, without_shrinking


def accepted(spec, **arguments) -> None:
    """A control: the hypothesis spec passes on 10 derandomized examples (not shrunk: a
    control that fails only needs its first failing example reported)."""
    without_shrinking(spec, max_examples=10, derandomize=True, database=None)(**arguments)


# Optimizers, hand-written from the documented algorithms.


def planted_adam(*, decay="coupled", decay_times_lr=True):
    """Adam (amsgrad off) with weight decay ``decay``: 'coupled' (Adam's L2) or 'decoupled'.

    ``decay='decoupled'`` is AdamW: w ← w·(1 − lr·λ) before the Adam step; with
    ``decay_times_lr=False`` it shrinks by (1 − λ), the paper's schedule multiplier mistaken
    for lr·λ.
    """

    class PlantedAdam(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
            defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                lam = group["weight_decay"]
                for w in group["params"]:
                    state = self.state[w]
                    if not state:
                        state.update(t=0, m=torch.zeros_like(w), v=torch.zeros_like(w))
                    state["t"] += 1
                    t, g = state["t"], w.grad
                    if decay == "coupled":
                        g = g + lam * w
                    else:
                        w.mul_(1 - (lr * lam if decay_times_lr else lam))
                    state["m"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["v"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    m_hat = state["m"] / (1 - beta1**t)
                    v_hat = state["v"] / (1 - beta2**t)
                    w.sub_(lr * m_hat / (v_hat.sqrt() + eps))

    return PlantedAdam


def planted_group_sgd(*, group_blind=False, snap_to_zero=False, rebind=False):
    """SGD with momentum and per-group weight decay, written from the documented algorithm.

    Bugs: ``group_blind`` takes λ from the optimizer's defaults for every group (a bias
    group's weight_decay=0 is ignored); ``snap_to_zero`` sets a weight that crosses zero to
    exactly 0 (truncated gradient); ``rebind`` writes ``w = w − lr·g``, which rebinds the
    name and never updates the parameter.
    """

    class PlantedSGD(torch.optim.Optimizer):
        def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
            super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, mu = group["lr"], group["momentum"]
                lam = self.defaults["weight_decay"] if group_blind else group["weight_decay"]
                for w in group["params"]:
                    g = w.grad + lam * w
                    if mu:
                        state = self.state[w]
                        state["b"] = g.clone() if "b" not in state else state["b"].mul_(mu).add_(g)
                        g = state["b"]
                    if rebind:
                        w = w - lr * g  # the planted bug: rebinds the loop variable
                        continue
                    before = w.clone()
                    w.sub_(lr * g)
                    if snap_to_zero:
                        w.masked_fill_(torch.sign(w) * torch.sign(before) < 0, 0.0)

    return PlantedSGD


# WD-2: Adam's weight decay is coupled L2.


def test_wd2_accepts_the_planted_adam_without_bugs():
    accepted(opt_specs.test_wd2_adam_weight_decay_equals_l2_penalty, **CPU64, adam=planted_adam())


def test_wd2_catches_decoupled_decay_in_adam():
    failure = spec_failure(
        opt_specs.test_wd2_adam_weight_decay_equals_l2_penalty,
        **CPU64,
        adam=planted_adam(decay="decoupled"),
    )
    assert "Adam(weight_decay=λ), iterate" in failure


# WD-3: AdamW is decoupled decay then the Adam step, not Adam + L2.


def test_wd3_accepts_the_planted_adamw_without_bugs():
    adamw = planted_adam(decay="decoupled")
    accepted(opt_specs.test_wd3_adamw_is_decoupled_decay_then_adam_step, **CPU64, adamw=adamw)
    opt_specs.test_wd3_adamw_differs_from_adam_with_l2_penalty(**CPU64, adamw=adamw)


@pytest.mark.parametrize(
    "bug",
    [{"decay": "coupled"}, {"decay": "decoupled", "decay_times_lr": False}],
    ids=["adamw-is-adam-plus-l2", "decay-without-lr"],
)
def test_wd3_catches_planted_adamw_bug(bug):
    failure = spec_failure(
        opt_specs.test_wd3_adamw_is_decoupled_decay_then_adam_step,
        **CPU64,
        adamw=planted_adam(**bug),
    )
    assert "AdamW(weight_decay=λ), iterate" in failure


def test_wd3_counterexample_fails_on_adamw_that_is_adam_plus_l2():
    failure = spec_failure(
        opt_specs.test_wd3_adamw_differs_from_adam_with_l2_penalty,
        **CPU64,
        adamw=planted_adam(decay="coupled"),
    )
    assert "AdamW(weight_decay=λ)" in failure


# WD-4: parameter groups and the factor convention.


def test_wd4_accepts_the_planted_group_sgd_without_bugs():
    sgd = planted_group_sgd()
    accepted(
        opt_specs.test_wd4_zero_decay_group_is_not_decayed, **CPU64, config="momentum", sgd=sgd
    )
    accepted(
        opt_specs.test_wd4_half_penalty_on_weights_equals_decay_on_weight_group, **CPU64, sgd=sgd
    )
    accepted(opt_specs.test_wd4_full_penalty_equals_twice_the_decay, **CPU64, sgd=sgd)
    opt_specs.test_wd4_full_penalty_does_not_match_the_same_decay(**CPU64, sgd=sgd)


@pytest.mark.parametrize(
    ("spec", "extra"),
    [
        (opt_specs.test_wd4_zero_decay_group_is_not_decayed, {"config": "plain"}),
        (opt_specs.test_wd4_half_penalty_on_weights_equals_decay_on_weight_group, {}),
    ],
    ids=["zero-decay-group", "half-penalty"],
)
def test_wd4_catches_decay_applied_to_every_group(spec, extra):
    failure = spec_failure(spec, **CPU64, **extra, sgd=planted_group_sgd(group_blind=True))
    assert "iterate" in failure


def test_wd4_catches_decay_without_the_half_convention():
    """An SGD adding 2λ·w (``planted.planted_sgd(decay_factor=2)``): weight_decay=2α is 4α."""
    failure = spec_failure(
        opt_specs.test_wd4_full_penalty_equals_twice_the_decay,
        **CPU64,
        sgd=planted.planted_sgd(decay_factor=2.0),
    )
    assert "weight_decay=2α on weights" in failure


def test_wd4_mismatch_fails_when_decay_is_doubled():
    """With 2λ·w in the optimizer, weight_decay=α leaves its oracle (and matches αΣw²)."""
    failure = spec_failure(
        opt_specs.test_wd4_full_penalty_does_not_match_the_same_decay,
        **CPU64,
        sgd=planted.planted_sgd(decay_factor=2.0),
    )
    assert "weight_decay=α" in failure


# WD-5: L1 gradients, subgradient SGD, the proximal step.


class _L1(torch.autograd.Function):
    """Σ|w| with a hand-written backward; ``sign_at_zero`` is the subgradient it uses at 0."""

    @staticmethod
    def forward(ctx, w, sign_at_zero):
        ctx.save_for_backward(w)
        ctx.sign_at_zero = sign_at_zero
        return w.abs().sum()

    @staticmethod
    def backward(ctx, grad_output):
        (w,) = ctx.saved_tensors
        sign = torch.where(w == 0, torch.full_like(w, ctx.sign_at_zero), torch.sign(w))
        return grad_output * sign, None


def hand_written_l1(*, sign_at_zero=0.0):
    """Σ|w| whose backward is sign(w); bug ``sign_at_zero=1``: where(w >= 0, 1, −1)."""
    return lambda w: _L1.apply(w, sign_at_zero)


def test_wd5_accepts_the_hand_written_l1_without_bugs():
    accepted(
        opt_specs.test_wd5_l1_penalty_gradient_is_beta_sign, **CPU64, l1_penalty=hand_written_l1()
    )


def test_wd5_catches_sign_of_zero_is_one():
    failure = spec_failure(
        opt_specs.test_wd5_l1_penalty_gradient_is_beta_sign,
        **CPU64,
        l1_penalty=hand_written_l1(sign_at_zero=1.0),
    )
    assert "∇ βΣ|w|" in failure or "subgradient at w = 0" in failure


def test_wd5_accepts_the_planted_sgd_without_snapping():
    sgd = planted_group_sgd()
    accepted(
        opt_specs.test_wd5_subgradient_sgd_oscillates_instead_of_reaching_zero, **CPU64, sgd=sgd
    )
    opt_specs.test_wd5_counterexample(**CPU32, sgd=sgd)


def test_wd5_refutation_fails_on_sgd_that_snaps_weights_to_zero():
    """An SGD that truncates weights crossing zero to 0 (Langford et al.'s truncated gradient
    without its threshold) lands on exact zeros: the fixed counterexample reports it. (Its
    iterates still jump off 0 every other step, as plain SGD's can: the property spec, which
    only asserts that they never settle, rightly accepts both.)"""
    sgd = planted_group_sgd(snap_to_zero=True)
    assert "reached 0" in spec_failure(opt_specs.test_wd5_counterexample, **CPU32, sgd=sgd)


def test_wd5_one_sided_cycle_case_accepts_the_planted_sgd_and_catches_rebinding():
    """The fixed WD-5 case (w cycles 0, −0.03): an SGD whose step rebinds the loop variable
    never moves w off 0, which the case reports as settling."""
    opt_specs.test_wd5_one_sided_cycle_regression_case(**CPU32, sgd=planted_group_sgd())
    failure = spec_failure(
        opt_specs.test_wd5_one_sided_cycle_regression_case,
        **CPU32,
        sgd=planted_group_sgd(rebind=True),
    )
    assert "[0." in failure


def soft_threshold(*, clamp=True):
    """sign(w)·max(|w| − t, 0); bug ``clamp=False``: w − t·sign(w), a subgradient step again."""

    def threshold(w, t):
        shrunk = w.abs() - t
        return torch.sign(w) * (shrunk.clamp(min=0.0) if clamp else shrunk)

    return threshold


def test_wd5_accepts_the_hand_written_soft_threshold():
    accepted(
        opt_specs.test_wd5_proximal_step_gives_exact_zeros,
        **CPU64,
        soft_threshold=soft_threshold(),
        sgd=torch.optim.SGD,
    )


def test_wd5_catches_soft_threshold_without_clamp():
    failure = spec_failure(
        opt_specs.test_wd5_proximal_step_gives_exact_zeros,
        **CPU64,
        soft_threshold=soft_threshold(clamp=False),
        sgd=torch.optim.SGD,
    )
    assert "not exactly zero" in failure


# OBJ-1: the gradient of loss + penalty.


def l2_penalty(*, detached=False):
    """(λ/2)Σw²; bug ``detached``: computed on w.detach() (``p.data`` in older code)."""
    return lambda w, lam: lam / 2 * ((w.detach() if detached else w) ** 2).sum()


@pytest.mark.parametrize(
    ("regularizer", "penalty"),
    [("L2", l2_penalty()), ("L1", lambda w, lam: lam * hand_written_l1()(w))],
    ids=["L2", "L1"],
)
def test_obj1_accepts_hand_written_penalties(regularizer, penalty):
    accepted(
        opt_specs.test_obj1_gradient_of_sum_is_sum_of_gradients,
        **CPU64,
        regularizer=regularizer,
        penalty=penalty,
        cross_entropy=F.cross_entropy,
    )


@pytest.mark.parametrize(
    ("regularizer", "penalty"),
    [
        ("L2", l2_penalty(detached=True)),
        ("L1", lambda w, lam: lam * hand_written_l1(sign_at_zero=1.0)(w)),
    ],
    ids=["detached-l2", "l1-sign-of-zero-is-one"],
)
def test_obj1_catches_planted_penalty_bug(regularizer, penalty):
    failure = spec_failure(
        opt_specs.test_obj1_gradient_of_sum_is_sum_of_gradients,
        **CPU64,
        regularizer=regularizer,
        penalty=penalty,
        cross_entropy=F.cross_entropy,
    )
    assert "∇(loss + R)" in failure or "does not depend on the input" in failure


# AG-1 to AG-3: backward, step and zero_grad.


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


def test_ag1_accepts_the_hand_written_backward():
    accepted(
        loop_specs.test_ag1_two_backward_passes_give_twice_the_gradient,
        **CPU64,
        backward=autograd_backward(),
        cross_entropy=F.cross_entropy,
    )


def test_ag1_catches_backward_that_overwrites_grad():
    failure = spec_failure(
        loop_specs.test_ag1_two_backward_passes_give_twice_the_gradient,
        **CPU64,
        backward=autograd_backward(overwrite=True),
        cross_entropy=F.cross_entropy,
    )
    assert "gradient after two passes" in failure


def test_ag2_accepts_the_hand_written_backward_and_sgd():
    accepted(
        loop_specs.test_ag2_backward_leaves_parameters_step_moves_them,
        **CPU64,
        backward=autograd_backward(),
        sgd=planted_group_sgd(),
    )


def test_ag2_catches_step_fused_into_backward():
    failure = spec_failure(
        loop_specs.test_ag2_backward_leaves_parameters_step_moves_them,
        **CPU64,
        backward=autograd_backward(fused_step_lr=0.1),
        sgd=torch.optim.SGD,
    )
    assert "backward() changed a parameter" in failure


def test_ag2_catches_update_that_rebinds_instead_of_writing():
    failure = spec_failure(
        loop_specs.test_ag2_backward_leaves_parameters_step_moves_them,
        **CPU64,
        backward=autograd_backward(),
        sgd=planted_group_sgd(rebind=True),
    )
    assert "after step()" in failure


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


def test_ag3_accepts_the_hand_written_zero_grad():
    optimizer_cls = planted_zero_grad_sgd()
    accepted(
        loop_specs.test_ag3_zero_grad_sets_gradients_to_none, **CPU32, optimizer_cls=optimizer_cls
    )
    accepted(
        loop_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
        **CPU32,
        optimizer_cls=optimizer_cls,
    )


@pytest.mark.parametrize(
    ("bug", "spec", "message"),
    [
        (
            {"default_set_to_none": False},
            loop_specs.test_ag3_zero_grad_sets_gradients_to_none,
            "zero_grad() left gradients",
        ),
        (
            {"first_group_only": True},
            loop_specs.test_ag3_zero_grad_sets_gradients_to_none,
            "zero_grad() left gradients",
        ),
        (
            {"first_group_only": True},
            loop_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
            "is not zero",
        ),
        (
            {"always_none": True},
            loop_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
            "set weight.grad to None",
        ),
    ],
    ids=["pre-2.0-default", "first-group-only", "first-group-only-zeros", "ignores-set-to-none"],
)
def test_ag3_catches_planted_zero_grad_bug(bug, spec, message):
    failure = spec_failure(spec, **CPU32, optimizer_cls=planted_zero_grad_sgd(**bug))
    assert message in failure


# AG-4: gradient-accumulation loops.


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
            y.numel() if count_padding else int((y != loop_specs.IGNORE).sum())
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


AG4 = {**CPU64, "cross_entropy": F.cross_entropy}


def test_ag4_accepts_the_hand_written_loops():
    mean_over_k = accumulation_loop()
    global_count = accumulation_loop(normalize="global count")
    accepted(
        loop_specs.test_ag4_equal_counts_mean_over_k_is_full_batch_gradient,
        **AG4,
        accumulate=mean_over_k,
    )
    accepted(
        loop_specs.test_ag4_unequal_counts_mean_over_k_is_mean_of_micro_batch_means,
        **AG4,
        accumulate=mean_over_k,
    )
    loop_specs.test_ag4_unequal_counts_mean_over_k_is_not_full_batch_gradient(
        **AG4, accumulate=mean_over_k
    )
    accepted(
        loop_specs.test_ag4_unequal_counts_sum_over_global_count_is_full_batch_gradient,
        **AG4,
        accumulate=global_count,
    )


@pytest.mark.parametrize(
    "bug", [{"zero_inside": True}, {"divide_by_k": False}], ids=["zero-inside-loop", "no-1/k"]
)
def test_ag4_catches_broken_mean_over_k_loop(bug):
    failure = spec_failure(
        loop_specs.test_ag4_equal_counts_mean_over_k_is_full_batch_gradient,
        **AG4,
        accumulate=accumulation_loop(**bug),
    )
    assert "accumulated gradient" in failure


@pytest.mark.parametrize(
    "loop",
    [
        accumulation_loop(),  # micro-batch means ÷ k where the counts differ
        accumulation_loop(normalize="global count", count_padding=True),
    ],
    ids=["micro-batch-count", "padding-counted"],
)
def test_ag4_catches_wrong_count_in_global_normalization(loop):
    failure = spec_failure(
        loop_specs.test_ag4_unequal_counts_sum_over_global_count_is_full_batch_gradient,
        **AG4,
        accumulate=loop,
    )
    assert "accumulated gradient" in failure


def test_ag4_refutation_fails_when_mean_over_k_is_fixed():
    """A "mean/k" loop that normalizes by the global count (the library fix) is not refuted."""
    failure = spec_failure(
        loop_specs.test_ag4_unequal_counts_mean_over_k_is_not_full_batch_gradient,
        **AG4,
        accumulate=accumulation_loop(normalize="global count"),
    )
    assert "mean of micro-batch means" in failure
