"""The weight decay specs (WD-1 … WD-5, ``specs/test_weight_decay.py``) fail on the planted bugs of
``tests/planted_weight_decay.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from specs import test_weight_decay as wd_specs
from tests import planted_weight_decay as planted
from tests.planting import CPU32, CPU64, accepted, planted_bug_test, spec_failure

WD1 = partial(wd_specs.test_wd1_sgd_weight_decay_equals_l2_penalty, **CPU64)
WD1_PER_STEP = partial(wd_specs.test_wd1_plain_sgd_step_shrinks_then_descends, **CPU64)
WD2 = partial(wd_specs.test_wd2_adam_weight_decay_equals_l2_penalty, **CPU64)
WD3 = partial(wd_specs.test_wd3_adamw_is_decoupled_decay_then_adam_step, **CPU64)
WD3_COUNTEREXAMPLE = partial(wd_specs.test_wd3_adamw_differs_from_adam_with_l2_penalty, **CPU64)
WD4_ZERO_DECAY = partial(wd_specs.test_wd4_zero_decay_group_is_not_decayed, **CPU64)
WD4_HALF_PENALTY = partial(
    wd_specs.test_wd4_half_penalty_on_weights_equals_decay_on_weight_group, **CPU64
)
WD4_FULL_PENALTY = partial(wd_specs.test_wd4_full_penalty_equals_twice_the_decay, **CPU64)
WD4_SAME_DECAY = partial(wd_specs.test_wd4_full_penalty_does_not_match_the_same_decay, **CPU64)
WD5_PROXIMAL = partial(wd_specs.test_wd5_proximal_step_gives_exact_zeros, **CPU64)


@pytest.mark.parametrize("config", list(wd_specs.SGD_CONFIGS))
def test_wd1_accepts_the_planted_sgd_without_bugs(config):
    WD1(config=config, sgd=planted.planted_sgd())


def test_wd2_accepts_the_planted_adam_without_bugs():
    accepted(WD2, adam=planted.planted_adam())


def test_wd3_accepts_the_planted_adamw_without_bugs():
    adamw = planted.planted_adam(decay="decoupled")
    accepted(WD3, adamw=adamw)
    WD3_COUNTEREXAMPLE(adamw=adamw)


def test_wd4_accepts_the_planted_group_sgd_without_bugs():
    sgd = planted.planted_group_sgd()
    accepted(WD4_ZERO_DECAY, config="momentum", sgd=sgd)
    accepted(WD4_HALF_PENALTY, sgd=sgd)
    accepted(WD4_FULL_PENALTY, sgd=sgd)
    WD4_SAME_DECAY(sgd=sgd)


def test_wd5_accepts_the_hand_written_l1_without_bugs():
    accepted(
        wd_specs.test_wd5_l1_penalty_gradient_is_beta_sign,
        **CPU64,
        l1_penalty=planted.hand_written_l1(),
    )


def test_wd5_catches_sign_of_zero_is_one():
    failure = spec_failure(
        wd_specs.test_wd5_l1_penalty_gradient_is_beta_sign,
        **CPU64,
        l1_penalty=planted.hand_written_l1(sign_at_zero=1.0),
    )
    assert "∇ βΣ|w|" in failure or "subgradient at w = 0" in failure


def test_wd5_accepts_the_planted_sgd_without_snapping():
    sgd = planted.planted_group_sgd()
    accepted(
        wd_specs.test_wd5_subgradient_sgd_oscillates_instead_of_reaching_zero, **CPU64, sgd=sgd
    )
    wd_specs.test_wd5_counterexample(**CPU32, sgd=sgd)


def test_wd5_refutation_fails_on_sgd_that_snaps_weights_to_zero():
    """An SGD that truncates weights crossing zero to 0 (Langford et al.'s truncated gradient
    without its threshold) lands on exact zeros: the fixed counterexample reports it. (Its
    iterates still jump off 0 every other step, as plain SGD's can: the property spec, which
    only asserts that they never settle, rightly accepts both.)"""
    sgd = planted.planted_group_sgd(snap_to_zero=True)
    failure = spec_failure(wd_specs.test_wd5_counterexample, **CPU32, sgd=sgd)
    assert "subgradient SGD's last weights" in failure


def test_wd5_one_sided_cycle_case_accepts_the_planted_sgd_and_catches_rebinding():
    """The fixed WD-5 case (w cycles 0, −0.03): an SGD whose step rebinds the loop variable
    never moves w off 0, which the case reports as settling."""
    wd_specs.test_wd5_one_sided_cycle_regression_case(**CPU32, sgd=planted.planted_group_sgd())
    failure = spec_failure(
        wd_specs.test_wd5_one_sided_cycle_regression_case,
        **CPU32,
        sgd=planted.planted_group_sgd(rebind=True),
    )
    assert "[0." in failure


def test_wd5_accepts_the_hand_written_soft_threshold():
    accepted(WD5_PROXIMAL, soft_threshold=planted.soft_threshold(), sgd=torch.optim.SGD)


GROUP_BLIND = planted.planted_group_sgd(group_blind=True)
DOUBLED = planted.planted_sgd(decay_factor=2.0)  # adds 2λ·w: no half convention
DECOUPLED_SGD = planted.planted_sgd(decoupled=True)
# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names)
PLANTED_BUGS = {
    "wd1-no-half-convention": (WD1, {"config": "plain", "sgd": DOUBLED}, "iterate"),
    "wd1-decoupled-momentum": (WD1, {"config": "momentum", "sgd": DECOUPLED_SGD}, "iterate"),
    "wd1-decoupled-nesterov": (WD1, {"config": "nesterov", "sgd": DECOUPLED_SGD}, "iterate"),
    "wd1-per-step-form-missing-half": (WD1_PER_STEP, {"sgd": DOUBLED}, "(1 − lr·λ)·w − lr·∇loss"),
    "wd2-decoupled-decay-in-adam": (
        WD2,
        {"adam": planted.planted_adam(decay="decoupled")},
        "Adam(weight_decay=λ), iterate",
    ),
    "wd3-adamw-is-adam-plus-l2": (
        WD3,
        {"adamw": planted.planted_adam(decay="coupled")},
        "AdamW(weight_decay=λ), iterate",
    ),
    "wd3-decay-without-lr": (
        WD3,
        {"adamw": planted.planted_adam(decay="decoupled", decay_times_lr=False)},
        "AdamW(weight_decay=λ), iterate",
    ),
    "wd3-counterexample-adamw-that-is-adam-plus-l2": (
        WD3_COUNTEREXAMPLE,
        {"adamw": planted.planted_adam(decay="coupled")},
        "AdamW(weight_decay=λ)",
    ),
    "wd4-zero-decay-group-decayed": (
        WD4_ZERO_DECAY,
        {"config": "plain", "sgd": GROUP_BLIND},
        "iterate",
    ),
    "wd4-half-penalty-group-blind": (WD4_HALF_PENALTY, {"sgd": GROUP_BLIND}, "iterate"),
    # weight_decay=2α is 4α with 2λ·w in the optimizer
    "wd4-decay-without-the-half-convention": (
        WD4_FULL_PENALTY,
        {"sgd": DOUBLED},
        "weight_decay=2α on weights",
    ),
    # with 2λ·w in the optimizer, weight_decay=α leaves its oracle (and matches αΣw²)
    "wd4-mismatch-when-decay-is-doubled": (WD4_SAME_DECAY, {"sgd": DOUBLED}, "weight_decay=α"),
    "wd5-soft-threshold-without-clamp": (
        WD5_PROXIMAL,
        {"soft_threshold": planted.soft_threshold(clamp=False), "sgd": torch.optim.SGD},
        "weights where |a| < β",
    ),
}
test_wd_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)
