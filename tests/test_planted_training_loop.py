"""The training loop specs (AG-1 … AG-4, ``specs/test_training_loop.py``) fail on the planted bugs
of ``tests/planted_training_loop.py`` and pass the same code with the bug off
(``tests.planting``).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from specs import test_training_loop as ag_specs
from tests import planted_training_loop as planted
from tests import planted_weight_decay
from tests.planting import CPU32, CPU64, accepted, spec_failure


def test_ag1_accepts_the_hand_written_backward():
    accepted(
        ag_specs.test_ag1_two_backward_passes_give_twice_the_gradient,
        **CPU64,
        backward=planted.autograd_backward(),
        cross_entropy=F.cross_entropy,
    )


def test_ag2_accepts_the_hand_written_backward_and_sgd():
    accepted(
        ag_specs.test_ag2_backward_leaves_parameters_step_moves_them,
        **CPU64,
        backward=planted.autograd_backward(),
        sgd=planted_weight_decay.planted_group_sgd(),
    )


def test_ag3_accepts_the_hand_written_zero_grad():
    optimizer_cls = planted.planted_zero_grad_sgd()
    accepted(
        ag_specs.test_ag3_zero_grad_sets_gradients_to_none, **CPU32, optimizer_cls=optimizer_cls
    )
    accepted(
        ag_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
        **CPU32,
        optimizer_cls=optimizer_cls,
    )


@pytest.mark.parametrize(
    ("bug", "spec", "message"),
    [
        (
            {"default_set_to_none": False},
            ag_specs.test_ag3_zero_grad_sets_gradients_to_none,
            "gradients left by zero_grad()",
        ),
        (
            {"first_group_only": True},
            ag_specs.test_ag3_zero_grad_sets_gradients_to_none,
            "gradients left by zero_grad()",
        ),
        (
            {"first_group_only": True},
            ag_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
            "bias.grad: got",
        ),
        (
            {"always_none": True},
            ag_specs.test_ag3_zero_grad_without_set_to_none_fills_zeros,
            "weight.grad after zero_grad(set_to_none=False): got None",
        ),
    ],
    ids=["pre-2.0-default", "first-group-only", "first-group-only-zeros", "ignores-set-to-none"],
)
def test_ag3_catches_planted_zero_grad_bug(bug, spec, message):
    failure = spec_failure(spec, **CPU32, optimizer_cls=planted.planted_zero_grad_sgd(**bug))
    assert message in failure


AG4 = {**CPU64, "cross_entropy": F.cross_entropy}


def test_ag4_accepts_the_hand_written_loops():
    mean_over_k = planted.accumulation_loop()
    global_count = planted.accumulation_loop(normalize="global count")
    accepted(
        ag_specs.test_ag4_equal_counts_mean_over_k_is_full_batch_gradient,
        **AG4,
        accumulate=mean_over_k,
    )
    accepted(
        ag_specs.test_ag4_unequal_counts_accumulate_what_their_normalization_gives,
        **AG4,
        expected="mean of micro-batch means",
        accumulate=mean_over_k,
    )
    ag_specs.test_ag4_unequal_counts_mean_over_k_is_not_full_batch_gradient(
        **AG4, accumulate=mean_over_k
    )
    accepted(
        ag_specs.test_ag4_unequal_counts_accumulate_what_their_normalization_gives,
        **AG4,
        expected="full batch",
        accumulate=global_count,
    )


@pytest.mark.parametrize(
    "bug", [{"zero_inside": True}, {"divide_by_k": False}], ids=["zero-inside-loop", "no-1/k"]
)
def test_ag4_catches_broken_mean_over_k_loop(bug):
    failure = spec_failure(
        ag_specs.test_ag4_equal_counts_mean_over_k_is_full_batch_gradient,
        **AG4,
        accumulate=planted.accumulation_loop(**bug),
    )
    assert "accumulated gradient" in failure


@pytest.mark.parametrize(
    "loop",
    [
        planted.accumulation_loop(),  # micro-batch means ÷ k where the counts differ
        planted.accumulation_loop(normalize="global count", count_padding=True),
    ],
    ids=["micro-batch-count", "padding-counted"],
)
def test_ag4_catches_wrong_count_in_global_normalization(loop):
    failure = spec_failure(
        ag_specs.test_ag4_unequal_counts_accumulate_what_their_normalization_gives,
        **AG4,
        expected="full batch",
        accumulate=loop,
    )
    assert "accumulated gradient" in failure


@pytest.mark.parametrize(
    ("spec", "arguments", "message"),
    [
        pytest.param(
            ag_specs.test_ag1_two_backward_passes_give_twice_the_gradient,
            {
                **CPU64,
                "backward": planted.autograd_backward(overwrite=True),
                "cross_entropy": F.cross_entropy,
            },
            "gradient after two passes",
            id="ag1-backward-that-overwrites-grad",
        ),
        pytest.param(
            ag_specs.test_ag2_backward_leaves_parameters_step_moves_them,
            {
                **CPU64,
                "backward": planted.autograd_backward(fused_step_lr=0.1),
                "sgd": torch.optim.SGD,
            },
            "parameter after backward()",
            id="ag2-step-fused-into-backward",
        ),
        pytest.param(
            ag_specs.test_ag2_backward_leaves_parameters_step_moves_them,
            {
                **CPU64,
                "backward": planted.autograd_backward(),
                "sgd": planted_weight_decay.planted_group_sgd(rebind=True),
            },
            "after step()",
            id="ag2-update-that-rebinds-instead-of-writing",
        ),
        # A "mean/k" loop that normalizes by the global count (the library fix) is not refuted.
        pytest.param(
            ag_specs.test_ag4_unequal_counts_mean_over_k_is_not_full_batch_gradient,
            {**AG4, "accumulate": planted.accumulation_loop(normalize="global count")},
            "mean of micro-batch means",
            id="ag4-refutation-fails-when-mean-over-k-is-fixed",
        ),
    ],
)
def test_ag_specs_catch_planted_bug(spec, arguments, message):
    assert message in spec_failure(spec, **arguments)
