"""The KL divergence specs (KL-1 … KL-5, ``specs/test_kl_divergence.py``) fail on the planted bugs
of ``tests/planted_kl_divergence.py`` and pass the same code with the bug off
(``tests.planting``).
"""

from __future__ import annotations

from functools import partial

import pytest
import torch.nn.functional as F

from specs import test_kl_divergence as kl_specs
from tests import planted_kl_divergence as planted
from tests import planted_softmax
from tests.planting import CPU64, named, planted_bug_test, planted_by, spec_failure

KL1 = partial(kl_specs.test_kl1_kl_equals_cross_entropy_minus_entropy, **CPU64)


def test_kl1_accepts_the_manual_kl_div():
    KL1(kl_div=planted.manual_kl_div())


@pytest.mark.parametrize(
    "spec",
    named(
        kl_specs.test_kl3_kl_is_not_symmetric,
        kl_specs.test_kl3_kl_is_nonnegative,
        kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero,
        kl_specs.test_kl3_kl_is_positive_when_distributions_differ,
    ),
)
def test_kl3_accepts_the_manual_kl_div(spec):
    spec(**CPU64, kl_div=planted.manual_kl_div())


KL4 = {**CPU64, "kl_div": F.kl_div}


def test_kl4_accepts_the_manual_cross_entropy():
    kl_specs.test_kl4_kl_is_cross_entropy_minus_target_entropy(
        **KL4, log_softmax=F.log_softmax, cross_entropy=planted.manual_cross_entropy()
    )


def test_kl4_catches_smoothing_over_the_other_classes():
    failure = spec_failure(
        kl_specs.test_kl4_kl_is_cross_entropy_minus_target_entropy,
        **KL4,
        log_softmax=F.log_softmax,
        cross_entropy=planted.manual_cross_entropy(smoothing_over_other_classes=True),
    )
    assert "CrossEntropyLoss" in failure and "smoothed" in failure


def test_kl4_minimum_accepts_the_manual_log_softmax():
    kl_specs.test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy(
        **KL4, log_softmax=planted.manual_log_softmax, cross_entropy=F.cross_entropy
    )


KL5_LOG_TARGET = partial(kl_specs.test_kl5_log_target_equals_probability_target, **CPU64)
KL5_NAN_PIN = partial(kl_specs.test_kl5_zero_target_is_nan_with_log_target, **CPU64)


def test_kl5_accepts_the_manual_kl_div():
    KL5_LOG_TARGET(kl_div=planted.manual_kl_div())
    KL5_NAN_PIN(kl_div=planted.manual_kl_div())


KL2 = partial(
    kl_specs.test_kl2_batchmean_kl_to_one_hot_equals_cross_entropy,
    **CPU64,
    log_softmax=F.log_softmax,
    cross_entropy=F.cross_entropy,
)
KL3_NOT_SYMMETRIC = partial(kl_specs.test_kl3_kl_is_not_symmetric, **CPU64)
KL3_NONNEGATIVE = partial(kl_specs.test_kl3_kl_is_nonnegative, **CPU64)
KL3_TO_ITSELF = partial(kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero, **CPU64)
KL3_POSITIVE = partial(kl_specs.test_kl3_kl_is_positive_when_distributions_differ, **CPU64)
KL3_FINITE_INPUT = partial(kl_specs.test_kl3_log_input_must_be_finite, **CPU64)
# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names);
# planted_by: (spec, the switches of planted.manual_kl_div that plant the bug, message)
PLANTED_BUGS = {
    **planted_by(
        planted.manual_kl_div,
        "kl_div",
        {
            "kl1-swapped-arguments": (KL1, {"swapped": True}, "KLDivLoss"),
            "kl1-no-xlogy": (KL1, {"no_xlogy": True}, "KLDivLoss"),
            "kl3-swapped": (KL3_NOT_SYMMETRIC, {"swapped": True}, "KL value"),
            "kl3-negated": (KL3_NONNEGATIVE, {"negated": True}, "KL(P‖Q)"),
            "kl3-cross-entropy-as-kl": (KL3_TO_ITSELF, {"cross_entropy_only": True}, "KL(P‖P)"),
            "kl3-zero-safe-input": (KL3_FINITE_INPUT, {"zero_safe": True}, "kl_div"),
            "kl5-log-target-treated-as-probabilities": (
                KL5_LOG_TARGET,
                {"log_target_as_probabilities": True},
                "log_target=True on log t",
            ),
            # If PyTorch made exp(−inf)·(−inf − a) = 0, the pinned NaN spec would say so.
            "kl5-nan-pin-reports-a-zero-safe-log-target": (
                KL5_NAN_PIN,
                {"zero_safe": True},
                "log_target=True on log t value",
            ),
        },
    ),
    "kl2-batchmean-as-mean": (
        KL2,
        {"kl_div": planted.kl_div_batchmean_as_mean},
        "KLDivLoss(batchmean)",
    ),
    "kl2-zero-target-nan": (KL2, {"kl_div": planted.naive_kl_div}, "KLDivLoss(batchmean)"),
    "kl3-batchmean-as-mean": (
        KL3_POSITIVE,
        {"kl_div": planted.kl_div_batchmean_as_mean},
        "KL(P‖Q) batchmean",
    ),
    # kl_div(softmax(z), t): probabilities where log-probabilities belong.
    "kl4-minimum-kl-fed-probabilities": (
        partial(
            kl_specs.test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy, **KL4
        ),
        {"log_softmax": planted_softmax.manual_softmax(), "cross_entropy": F.cross_entropy},
        "KL",
    ),
}
test_kl_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)
