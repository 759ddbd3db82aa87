"""The CE-2 … CE-9 specs fail on planted, realistic bugs, and pass the same code without them.

Each spec is called directly with a hand-written implementation from
``tests/planted_cross_entropy.py`` in place of the torch one; hypothesis then has to find an
input that exposes the bug. The controls run the same hand-written code with no bug switched
on, so each failure is the bug's doing.

A planted bug only has to be found, not reduced to a minimal example: ``spec_failure``
(``tests/planting.py``) runs a hypothesis spec as a fresh test without the shrink phase (the
spec itself, as collected, is untouched), which keeps this module within its time budget.
"""

from __future__ import annotations

import inspect
from functools import partial

import pytest
import torch.nn.functional as F

from specs import test_cross_entropy as ce_specs
from tests import planted_cross_entropy as planted
from tests import planted_kl_divergence
from tests.planting import CPU32, CPU64, planted_bug_test, planted_by, spec_failure
from verify.oracles.reduction import REDUCTIONS

CE1 = partial(
    ce_specs.test_ce1_cross_entropy_equals_nll_of_log_softmax,
    **CPU64,
    nll_loss=F.nll_loss,
    log_softmax=F.log_softmax,
)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce1_accepts_the_manual_cross_entropy_without_bugs(reduction):
    CE1(reduction=reduction, cross_entropy=planted.class_index_cross_entropy())


@pytest.mark.parametrize(
    ("bug", "reduction", "message"),
    [
        ({"naive_logsumexp": True}, "none", "CrossEntropyLoss"),
        ({"mean_over_count": True}, "mean", "CrossEntropyLoss value"),
        ({"count_ignored": True}, "mean", "CrossEntropyLoss value"),
    ],
    ids=["no-max-subtraction", "mean-divides-by-N", "ignored-counted-in-mean"],
)
def test_ce1_catches_planted_cross_entropy_bug(bug, reduction, message):
    failure = spec_failure(
        CE1, reduction=reduction, cross_entropy=planted.class_index_cross_entropy(**bug)
    )
    assert message in failure


MANUAL = planted.manual_cross_entropy()


CE2_MODERATE = partial(
    ce_specs.test_ce2_log_of_softmax_equals_cross_entropy_for_moderate_gaps,
    **CPU32,
    nll_loss=F.nll_loss,
    cross_entropy=F.cross_entropy,
)


@pytest.mark.parametrize("reduction", ce_specs.TERMS_AND_MEAN)
def test_ce2_moderate_side_accepts_the_manual_softmax_and_cross_entropy(reduction):
    CE2_MODERATE(reduction=reduction, cross_entropy=MANUAL, softmax=planted.manual_softmax())


CE2_OUTSIDE = {**CPU32, "nll_loss": F.nll_loss}


def test_ce2_outside_accepts_the_manual_softmax_and_cross_entropy():
    ce_specs.test_ce2_log_of_softmax_underflows_past_the_boundary(
        **CE2_OUTSIDE, cross_entropy=MANUAL, softmax=planted.manual_softmax()
    )
    ce_specs.test_ce2_underflow_boundary_is_set_by_the_smallest_subnormal(
        **CE2_OUTSIDE, cross_entropy=MANUAL, softmax=planted.manual_softmax()
    )
    ce_specs.test_ce2_regression_gap_of_110_in_float32(
        **CE2_OUTSIDE, cross_entropy=MANUAL, softmax=planted.manual_softmax()
    )


@pytest.mark.parametrize(
    "spec",
    [
        ce_specs.test_ce2_log_of_softmax_underflows_past_the_boundary,
        ce_specs.test_ce2_regression_gap_of_110_in_float32,
    ],
    ids=["hypothesis", "regression"],
)
def test_ce2_outside_catches_cross_entropy_written_as_log_of_softmax(spec):
    failure = spec_failure(
        spec,
        **CE2_OUTSIDE,
        cross_entropy=planted.cross_entropy_as_log_of_softmax,
        softmax=F.softmax,
    )
    assert "CrossEntropyLoss" in failure


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ce_specs.test_ce2_log_of_softmax_underflows_past_the_boundary, "expected +inf"),
        (ce_specs.test_ce2_underflow_boundary_is_set_by_the_smallest_subnormal, "at a gap of"),
    ],
    ids=["hypothesis", "boundary"],
)
def test_ce2_outside_catches_softmax_clamped_for_log(spec, message):
    failure = spec_failure(
        spec,
        **CE2_OUTSIDE,
        cross_entropy=F.cross_entropy,
        softmax=planted.manual_softmax(clamp_tiny=True),
    )
    assert message in failure


def test_ce3_accepts_the_manual_cross_entropy():
    ce_specs.test_ce3_numpy_tutorial_matches_pytorch(
        **CPU32, tutorial=ce_specs.tutorial_cross_entropy, cross_entropy=MANUAL
    )
    ce_specs.test_ce3_published_example(
        **CPU32, tutorial=ce_specs.tutorial_cross_entropy, cross_entropy=MANUAL
    )


CE5_SPECS = {
    "different": (ce_specs.test_ce5_cross_entropy_of_probabilities_is_a_different_function, CPU64),
    "floor": (ce_specs.test_ce5_loss_on_probabilities_never_falls_below_the_floor, CPU32),
    "shrink": (ce_specs.test_ce5_gradients_shrink, CPU64),
}


@pytest.mark.parametrize("name", list(CE5_SPECS))
def test_ce5_accepts_the_manual_cross_entropy(name):
    spec, where = CE5_SPECS[name]
    spec(**where, cross_entropy=MANUAL, softmax=planted.manual_softmax())


@pytest.mark.parametrize("name", list(CE5_SPECS))
def test_ce5_catches_a_cross_entropy_that_takes_probabilities(name):
    """Keras' categorical cross-entropy (from_logits=False) in place of CrossEntropyLoss."""
    spec, where = CE5_SPECS[name]
    failure = spec_failure(
        spec,
        **where,
        cross_entropy=planted.manual_cross_entropy(from_probabilities=True),
        softmax=F.softmax,
    )
    assert "CE(" in failure


CE6 = {**CPU32, "log_softmax": F.log_softmax}


@pytest.mark.parametrize("reduction", ce_specs.TERMS_AND_MEAN)
def test_ce6_accepts_the_manual_cross_entropy(reduction):
    ce_specs.test_ce6_label_smoothing_equals_mixture_and_soft_targets_without_weights(
        **CE6, reduction=reduction, cross_entropy=MANUAL
    )
    ce_specs.test_ce6_with_class_weights_only_the_mean_differs(
        **CPU64, reduction=reduction, cross_entropy=MANUAL
    )


def test_ce6_examples_and_gradcheck_accept_the_manual_cross_entropy():
    ce_specs.test_ce6_weighted_example_hard_and_soft_means_differ(**CPU64, cross_entropy=MANUAL)
    ce_specs.test_ce6_ce9_gradcheck(**CPU64, cross_entropy=MANUAL)


@pytest.mark.parametrize(
    "spec",
    [
        ce_specs.test_ce6_with_class_weights_only_the_mean_differs,
        ce_specs.test_ce6_weighted_example_hard_and_soft_means_differ,
    ],
    ids=["hypothesis", "example"],
)
def test_ce6_weighted_side_catches_a_mean_over_n(spec):
    parameters = inspect.signature(spec).parameters
    arguments = {"reduction": "mean"} if "reduction" in parameters else {}
    failure = spec_failure(
        spec,
        **CPU64,
        **arguments,
        cross_entropy=planted.manual_cross_entropy(weighted_mean_over_count=True),
    )
    assert "hard-label" in failure or "hard labels" in failure


def test_ce7_accepts_the_manual_cross_entropy():
    ce_specs.test_ce7_weighted_mean_divides_by_summed_target_weights(**CPU32, cross_entropy=MANUAL)
    ce_specs.test_ce7_uniform_logits_example(**CPU32, cross_entropy=MANUAL)


@pytest.mark.parametrize("bug", ["weighted_mean_over_count", "weighted_mean_over_weight_total"])
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ce_specs.test_ce7_weighted_mean_divides_by_summed_target_weights, "weighted mean value"),
        (ce_specs.test_ce7_uniform_logits_example, "weighted mean of log 3"),
    ],
    ids=["hypothesis", "example"],
)
def test_ce7_catches_the_wrong_denominator(spec, message, bug):
    failure = spec_failure(spec, **CPU32, cross_entropy=planted.manual_cross_entropy(**{bug: True}))
    assert message in failure


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ce8_accepts_the_manual_cross_entropy(reduction):
    ce_specs.test_ce8_ignored_positions_contribute_nothing(
        **CPU32, reduction=reduction, cross_entropy=MANUAL
    )
    ce_specs.test_ce8_all_ignored_or_empty_batch(**CPU32, reduction=reduction, cross_entropy=MANUAL)


@pytest.mark.parametrize(
    ("bug", "reduction"),
    [("ignored_in_sum", "sum"), ("ignored_in_sum", "none"), ("ignored_in_denominator", "mean")],
)
def test_ce8_catches_ignored_positions_that_count(bug, reduction):
    failure = spec_failure(
        ce_specs.test_ce8_ignored_positions_contribute_nothing,
        **CPU32,
        reduction=reduction,
        cross_entropy=planted.manual_cross_entropy(**{bug: True}),
    )
    assert "counted positions alone" in failure or "ignored position" in failure


@pytest.mark.parametrize("reduction", ce_specs.TERMS_AND_MEAN)
def test_ce9_accepts_the_manual_cross_entropy(reduction):
    ce_specs.test_ce9_probability_targets(**CPU32, reduction=reduction, cross_entropy=MANUAL)


CE3 = {**CPU32, "tutorial": ce_specs.tutorial_cross_entropy, "cross_entropy": F.cross_entropy}
CE3_TUTORIAL = partial(ce_specs.test_ce3_numpy_tutorial_matches_pytorch, **CE3)
CE3_EXAMPLE = partial(ce_specs.test_ce3_published_example, **CE3)
CE4_EXAMPLE = partial(
    ce_specs.test_ce4_published_example,
    **CPU64,
    cross_entropy=F.cross_entropy,
    nll_loss=F.nll_loss,
    log_softmax=F.log_softmax,
)
CE6_SMOOTHING = partial(
    ce_specs.test_ce6_label_smoothing_equals_mixture_and_soft_targets_without_weights,
    **CE6,
    reduction="none",
)
CE8_NOTHING_COUNTED = partial(
    ce_specs.test_ce8_all_ignored_or_empty_batch, **CPU32, reduction="mean"
)
CE9_MEAN = partial(ce_specs.test_ce9_probability_targets, **CPU32, reduction="mean")
NAIVE_LOGSUMEXP = planted.manual_cross_entropy(naive_logsumexp=True)
# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names);
# planted_by: (spec, the switches of planted.manual_cross_entropy that plant the bug, message)
PLANTED_BUGS = {
    "ce1-log-of-softmax": (
        CE1,
        {
            "reduction": "sum",
            "cross_entropy": F.cross_entropy,
            "log_softmax": planted.naive_log_softmax,
        },
        "NLLLoss(LogSoftmax)",
    ),
    "ce4-mean-over-count": (
        CE4_EXAMPLE,
        {"kl_div": planted_kl_divergence.kl_div_batchmean_as_mean},
        "published 0.5493",
    ),
    "ce2-moderate-side-softmax-without-max-subtraction": (
        CE2_MODERATE,
        {"reduction": "none", "softmax": planted.manual_softmax(subtract_max=False)},
        "NLLLoss(log(Softmax))",
    ),
    "ce2-moderate-side-cross-entropy-without-max-subtraction": (
        CE2_MODERATE,
        {"reduction": "mean", "softmax": F.softmax, "cross_entropy": NAIVE_LOGSUMEXP},
        "CrossEntropyLoss value",
    ),
    "ce3-a-tutorial-without-max-subtraction": (
        CE3_TUTORIAL,
        {"tutorial": planted.tutorial_without_max_subtraction},
        "NumPy tutorial",
    ),
    "ce3-cross-entropy-without-max-subtraction": (
        CE3_TUTORIAL,
        {"cross_entropy": NAIVE_LOGSUMEXP},
        "NumPy tutorial",
    ),
    **planted_by(
        planted.manual_cross_entropy,
        "cross_entropy",
        {
            "ce3-published-example-a-probability-cross-entropy": (
                CE3_EXAMPLE,
                {"from_probabilities": True},
                "published 0.5239",
            ),
            "ce6-smoothing-over-others": (
                CE6_SMOOTHING,
                {"smoothing_over_others": True},
                "CE(label_smoothing=ε)",
            ),
            "ce6-smoothing-excludes-target": (
                CE6_SMOOTHING,
                {"smoothing_excludes_target": True},
                "CE(label_smoothing=ε)",
            ),
            "ce6-gradcheck-a-detached-smoothing-term": (
                partial(ce_specs.test_ce6_ce9_gradcheck, **CPU64),
                {"detached_smoothing": True},
                "gradient with label smoothing (gradcheck): got Jacobian mismatch",
            ),
            "ce8-a-safe-mean-of-nothing": (
                CE8_NOTHING_COUNTED,
                {"empty_mean_is_zero": True},
                "no counted target",
            ),
            "ce9-soft-mean-over-elements": (
                CE9_MEAN,
                {"soft_mean_over_elements": True},
                "probability targets, value",
            ),
            "ce9-soft-mean-over-batch": (
                CE9_MEAN,
                {"soft_mean_over_batch": True},
                "probability targets, value",
            ),
        },
    ),
}


test_ce_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)
