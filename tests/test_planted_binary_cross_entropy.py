"""Each binary cross-entropy spec (BCE-1 to BCE-6, BCE-8, BCE-9) fails on a planted bug.

The specs are called directly with a hand-written implementation in place of the torch one
(``tests/planted_binary_cross_entropy.py``); hypothesis then has to find an input that exposes
the bug (``tests.planting.spec_failure``: without shrinking, up to 100 examples under any
profile). A control runs the same hand-written code with the bug switched off, so a failure is
the bug's doing.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specs import test_binary_cross_entropy as bce_specs
from tests import planted_binary_cross_entropy as planted
from tests.planting import CPU32, CPU64, planted_bug_test, spec_failure

BCE7 = partial(
    bce_specs.test_bce7_two_class_cross_entropy_equals_bce_with_logits,
    **CPU64,
    targets="hard",
    reduction="none",
    cross_entropy=F.cross_entropy,
)


def test_bce7_accepts_the_manual_bce_with_logits_without_bugs():
    BCE7(binary_cross_entropy_with_logits=planted.logsigmoid_bce_with_logits())


WITH_LOGITS = F.binary_cross_entropy_with_logits


def test_bce1_accepts_the_manual_bce_without_bugs():
    bce_specs.test_bce1_bce_matches_its_definition(
        **CPU64, reduction="mean", binary_cross_entropy=planted.manual_bce()
    )
    bce_specs.test_bce1_log_clamp_bounds_each_element_by_100(
        **CPU64, binary_cross_entropy=planted.manual_bce()
    )


@pytest.mark.parametrize(
    ("spec", "bug", "reduction", "message"),
    [
        ("definition", {"mean_over_weight": True}, "mean", "BCELoss value"),
        ("definition", {"row_weighted_mean": True}, "mean", "BCELoss value"),
        ("definition", {"eps_clamp": 1e-7}, "none", "BCELoss"),
        ("clamp", {"eps_clamp": 1e-7}, None, "BCELoss value"),
        ("clamp", {"log_clamp": False}, None, "BCELoss value"),
    ],
    ids=["mean-over-summed-weight", "row-weighted-mean", "eps-clamp", "clamp-eps", "no-clamp"],
)
def test_bce1_catches_planted_bce_bug(spec, bug, reduction, message):
    if spec == "definition":
        failure = spec_failure(
            bce_specs.test_bce1_bce_matches_its_definition,
            **CPU64,
            reduction=reduction,
            binary_cross_entropy=planted.manual_bce(**bug),
        )
    else:
        failure = spec_failure(
            bce_specs.test_bce1_log_clamp_bounds_each_element_by_100,
            **CPU64,
            binary_cross_entropy=planted.manual_bce(**bug),
        )
    assert message in failure


def test_bce2_accepts_manual_implementations_without_bugs():
    arguments = {
        "binary_cross_entropy": planted.manual_bce(),
        "binary_cross_entropy_with_logits": planted.manual_bce_with_logits(),
    }
    bce_specs.test_bce2_bce_of_sigmoid_equals_bce_with_logits_for_moderate_logits(
        **CPU64, reduction="mean", **arguments
    )
    bce_specs.test_bce2_bce_of_sigmoid_is_the_clamp_once_sigmoid_rounds_to_one(**CPU32, **arguments)
    bce_specs.test_bce2_boundary_where_bce_of_sigmoid_parts_from_bce_with_logits(
        **CPU32, **arguments
    )


@pytest.mark.parametrize(
    ("spec", "spec_dtype"),
    [
        (bce_specs.test_bce2_bce_of_sigmoid_is_the_clamp_once_sigmoid_rounds_to_one, torch.float64),
        (
            bce_specs.test_bce2_boundary_where_bce_of_sigmoid_parts_from_bce_with_logits,
            torch.float32,
        ),
    ],
    ids=["outside", "boundary"],
)
def test_bce2_outside_catches_bce_with_logits_through_sigmoid(spec, spec_dtype):
    """Written as BCELoss(sigmoid(x)), "BCEWithLogitsLoss" passes inside but not outside."""
    with_logits = planted.manual_bce_with_logits(through_sigmoid=True)
    bce_specs.test_bce2_bce_of_sigmoid_equals_bce_with_logits_for_moderate_logits(
        **CPU64,
        reduction="none",
        binary_cross_entropy=F.binary_cross_entropy,
        binary_cross_entropy_with_logits=with_logits,
    )
    failure = spec_failure(
        spec,
        device="cpu",
        dtype=spec_dtype,
        binary_cross_entropy=F.binary_cross_entropy,
        binary_cross_entropy_with_logits=with_logits,
    )
    assert "BCEWithLogits" in failure


def test_bce3_accepts_the_manual_bce_with_logits_without_bugs():
    bce_specs.test_bce3_pos_weight_scales_only_the_positive_term(
        **CPU64, reduction="sum", binary_cross_entropy_with_logits=planted.manual_bce_with_logits()
    )


@pytest.mark.parametrize(
    "bug",
    [{"pos_weight_on": "negative"}, {"pos_weight_on": "both"}],
    ids=["pos-weight-on-negative-term", "pos-weight-on-both-terms"],
)
def test_bce3_catches_misplaced_pos_weight(bug):
    failure = spec_failure(
        bce_specs.test_bce3_pos_weight_scales_only_the_positive_term,
        **CPU64,
        reduction="sum",
        binary_cross_entropy_with_logits=planted.manual_bce_with_logits(**bug),
    )
    assert "BCEWithLogitsLoss(pos_weight)" in failure


def test_bce4_accepts_the_tutorial_variant_without_bugs():
    handwritten = planted.tutorial_variant()
    bce_specs.test_bce4_epsilon_bce_approximates_bce_with_logits_for_moderate_logits(
        **CPU64,
        reduction="mean",
        handwritten=handwritten,
        binary_cross_entropy_with_logits=WITH_LOGITS,
    )
    bce_specs.test_bce4_epsilon_bce_is_capped_at_minus_log_eps(
        **CPU32, handwritten=handwritten, binary_cross_entropy_with_logits=WITH_LOGITS
    )
    bce_specs.test_bce4_boundary_where_epsilon_bce_parts_from_bce_with_logits(
        **CPU32, handwritten=handwritten, binary_cross_entropy_with_logits=WITH_LOGITS
    )


@pytest.mark.parametrize(
    "bug",
    [{"clamp": 1e-7}, {"eps_in_positive_log_only": True}],
    ids=["clamp-instead-of-eps", "eps-in-one-log"],
)
def test_bce4_outside_catches_tutorial_variants(bug):
    failure = spec_failure(
        bce_specs.test_bce4_epsilon_bce_is_capped_at_minus_log_eps,
        **CPU32,
        handwritten=planted.tutorial_variant(**bug),
        binary_cross_entropy_with_logits=WITH_LOGITS,
    )
    assert "hand-written" in failure


BCE5 = partial(bce_specs.test_bce5_published_example, **CPU32)


def test_bce5_accepts_the_manual_implementations_without_bugs():
    BCE5(
        binary_cross_entropy=planted.manual_bce(),
        binary_cross_entropy_with_logits=planted.manual_bce_with_logits(),
    )


def test_bce6_accepts_a_pass_through_module():
    bce_specs.test_bce6_class_form_equals_functional_form(
        **CPU64,
        loss="BCELoss",
        functional=F.binary_cross_entropy,
        module=planted.PassThroughBCELoss,
    )


@pytest.mark.parametrize(
    ("loss", "functional", "module"),
    [
        ("BCELoss", F.binary_cross_entropy, planted.BCELossIgnoringWeight),
        ("BCEWithLogitsLoss", WITH_LOGITS, planted.BCEWithLogitsLossIgnoringPosWeight),
        ("CrossEntropyLoss", F.cross_entropy, planted.CrossEntropyLossIgnoringLabelSmoothing),
        ("KLDivLoss", F.kl_div, planted.KLDivLossIgnoringLogTarget),
        ("HuberLoss", F.huber_loss, planted.HuberLossAsSmoothL1),
        ("LogSoftmax", F.log_softmax, nn.Softmax),
    ],
    ids=[
        "ignores-weight",
        "ignores-pos-weight",
        "ignores-label-smoothing",
        "ignores-log-target",
        "huber-as-smooth-l1",
        "softmax-for-log-softmax",
    ],
)
def test_bce6_catches_a_module_that_differs_from_its_functional(loss, functional, module):
    failure = spec_failure(
        bce_specs.test_bce6_class_form_equals_functional_form,
        **CPU64,
        loss=loss,
        functional=functional,
        module=module,
    )
    assert f"nn.{loss}" in failure


def test_bce8_accepts_the_manual_bce_without_bugs():
    bce_specs.test_bce8_loss_vanishes_only_as_p_approaches_the_target(
        **CPU32, binary_cross_entropy=planted.manual_bce()
    )


@pytest.mark.parametrize(
    "bug", [{"entropy": True}, {"eps_clamp": 1e-7}], ids=["binary-entropy", "eps-clamp"]
)
def test_bce8_catches_a_loss_that_does_not_grow(bug):
    failure = spec_failure(
        bce_specs.test_bce8_loss_vanishes_only_as_p_approaches_the_target,
        **CPU32,
        binary_cross_entropy=planted.manual_bce(**bug),
    )
    assert "BCELoss" in failure


BCE9_SECOND_SIGMOID = partial(
    bce_specs.test_bce9_probabilities_fed_to_bce_with_logits_get_a_second_sigmoid, **CPU32
)
BCE9_COUNTEREXAMPLE = partial(bce_specs.test_bce9_counterexample, **CPU32)


def test_bce9_accepts_the_manual_bce_with_logits_without_bugs():
    arguments = {"binary_cross_entropy_with_logits": planted.manual_bce_with_logits()}
    BCE9_SECOND_SIGMOID(reduction="mean", binary_cross_entropy=planted.manual_bce(), **arguments)
    BCE9_COUNTEREXAMPLE(**arguments)


WITH_LOGITS_BUG = planted.manual_bce_with_logits
BCE2_MODERATE = partial(
    bce_specs.test_bce2_bce_of_sigmoid_equals_bce_with_logits_for_moderate_logits,
    **CPU64,
    reduction="mean",
    binary_cross_entropy_with_logits=WITH_LOGITS,
)
BCE4_MODERATE = partial(
    bce_specs.test_bce4_epsilon_bce_approximates_bce_with_logits_for_moderate_logits,
    **CPU64,
    reduction="none",
    binary_cross_entropy_with_logits=WITH_LOGITS,
)
# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names)
PLANTED_BUGS = {
    "bce7-literal-log-of-sigmoid": (
        BCE7,
        {
            "binary_cross_entropy_with_logits": planted.logsigmoid_bce_with_logits(
                naive_sigmoid=True
            )
        },
        "BCEWithLogitsLoss",
    ),
    "bce7-probability-clamp": (
        partial(bce_specs.test_bce7_bce_on_probabilities_equals_two_class_nll, **CPU64),
        {
            "reduction": "none",
            "binary_cross_entropy": planted.clamped_bce(1e-7),
            "nll_loss": F.nll_loss,
        },
        "BCELoss",
    ),
    "bce2-inside-row-weighted-mean": (
        BCE2_MODERATE,
        {"binary_cross_entropy": planted.manual_bce(row_weighted_mean=True)},
        "BCELoss(sigmoid(x)) value",
    ),
    "bce2-outside-a-missing-log-clamp": (
        partial(
            bce_specs.test_bce2_bce_of_sigmoid_is_the_clamp_once_sigmoid_rounds_to_one, **CPU64
        ),
        {
            "binary_cross_entropy": planted.manual_bce(log_clamp=False),
            "binary_cross_entropy_with_logits": WITH_LOGITS,
        },
        "BCELoss(sigmoid(x))",
    ),
    "bce4-inside-a-larger-eps": (
        BCE4_MODERATE,
        {"handwritten": planted.tutorial_variant(eps=1e-7)},
        "hand-written ε-BCE value",
    ),
    "bce4-bce-with-logits-through-sigmoid": (
        partial(bce_specs.test_bce4_epsilon_bce_is_capped_at_minus_log_eps, **CPU64),
        {
            "handwritten": bce_specs.tutorial_bce_with_logits,
            "binary_cross_entropy_with_logits": WITH_LOGITS_BUG(through_sigmoid=True),
        },
        "BCEWithLogitsLoss",
    ),
    "bce5-sigmoid-applied-twice": (
        BCE5,
        {
            "binary_cross_entropy": F.binary_cross_entropy,
            "binary_cross_entropy_with_logits": WITH_LOGITS_BUG(sigmoid_twice=True),
        },
        "published 0.0184",
    ),
    "bce9-a-with-logits-loss-that-takes-probabilities": (
        BCE9_SECOND_SIGMOID,
        {
            "reduction": "sum",
            "binary_cross_entropy": F.binary_cross_entropy,
            "binary_cross_entropy_with_logits": WITH_LOGITS_BUG(takes_probabilities=True),
        },
        "BCEWithLogitsLoss(σ(x))",
    ),
    "bce9-counterexample-a-loss-that-detects-probabilities": (
        BCE9_COUNTEREXAMPLE,
        {"binary_cross_entropy_with_logits": WITH_LOGITS_BUG(detects_probabilities=True)},
        "BCEWithLogitsLoss(σ(x))",
    ),
}


test_bce_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)
