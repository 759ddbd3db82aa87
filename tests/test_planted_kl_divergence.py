"""The KL divergence specs (KL-1 … KL-5, ``specs/test_kl_divergence.py``) fail on the planted bugs
of ``tests/planted_kl_divergence.py`` and pass the same code with the bug off
(``tests.planting``).
"""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from specs import test_kl_divergence as kl_specs
from tests import planted_kl_divergence as planted
from tests import planted_softmax
from tests.planting import CPU64, spec_failure

KL2 = {**CPU64, "log_softmax": F.log_softmax, "cross_entropy": F.cross_entropy}


@pytest.mark.parametrize(
    "kl_div",
    [planted.kl_div_batchmean_as_mean, planted.naive_kl_div],
    ids=["batchmean-as-mean", "zero-target-nan"],
)
def test_kl2_catches_planted_kl_bug(kl_div):
    failure = spec_failure(
        kl_specs.test_kl2_batchmean_kl_to_one_hot_equals_cross_entropy, **KL2, kl_div=kl_div
    )
    assert "KLDivLoss(batchmean)" in failure


def test_kl1_accepts_the_manual_kl_div():
    kl_specs.test_kl1_kl_equals_cross_entropy_minus_entropy(**CPU64, kl_div=planted.manual_kl_div())


@pytest.mark.parametrize(
    "bug", [{"swapped": True}, {"no_xlogy": True}], ids=["swapped-arguments", "no-xlogy"]
)
def test_kl1_catches_planted_kl_bug(bug):
    failure = spec_failure(
        kl_specs.test_kl1_kl_equals_cross_entropy_minus_entropy,
        **CPU64,
        kl_div=planted.manual_kl_div(**bug),
    )
    assert "KLDivLoss" in failure


KL3_SPECS = [
    kl_specs.test_kl3_kl_is_not_symmetric,
    kl_specs.test_kl3_kl_is_nonnegative,
    kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero,
    kl_specs.test_kl3_kl_is_positive_when_distributions_differ,
]


@pytest.mark.parametrize("spec", KL3_SPECS, ids=lambda spec: spec.__name__)
def test_kl3_accepts_the_manual_kl_div(spec):
    spec(**CPU64, kl_div=planted.manual_kl_div())


@pytest.mark.parametrize(
    ("spec", "kl_div", "message"),
    [
        (kl_specs.test_kl3_kl_is_not_symmetric, planted.manual_kl_div(swapped=True), "KL value"),
        (kl_specs.test_kl3_kl_is_nonnegative, planted.manual_kl_div(negated=True), "KL(P‖Q)"),
        (
            kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero,
            planted.manual_kl_div(cross_entropy_only=True),
            "KL(P‖P)",
        ),
        (
            kl_specs.test_kl3_kl_is_positive_when_distributions_differ,
            planted.kl_div_batchmean_as_mean,
            "KL(P‖Q) batchmean",
        ),
        (
            kl_specs.test_kl3_log_input_must_be_finite,
            planted.manual_kl_div(zero_safe=True),
            "kl_div",
        ),
    ],
    ids=["swapped", "negated", "cross-entropy-as-kl", "batchmean-as-mean", "zero-safe-input"],
)
def test_kl3_catches_planted_kl_bug(spec, kl_div, message):
    assert message in spec_failure(spec, **CPU64, kl_div=kl_div)


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


def test_kl5_accepts_the_manual_kl_div():
    kl_specs.test_kl5_log_target_equals_probability_target(**CPU64, kl_div=planted.manual_kl_div())
    kl_specs.test_kl5_zero_target_is_nan_with_log_target(**CPU64, kl_div=planted.manual_kl_div())


@pytest.mark.parametrize(
    ("spec", "arguments", "message"),
    [
        # kl_div(softmax(z), t): probabilities where log-probabilities belong.
        pytest.param(
            kl_specs.test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy,
            {
                **KL4,
                "log_softmax": planted_softmax.manual_softmax(),
                "cross_entropy": F.cross_entropy,
            },
            "KL",
            id="kl4-minimum-kl-fed-probabilities",
        ),
        pytest.param(
            kl_specs.test_kl5_log_target_equals_probability_target,
            {**CPU64, "kl_div": planted.manual_kl_div(log_target_as_probabilities=True)},
            "log_target=True on log t",
            id="kl5-log-target-treated-as-probabilities",
        ),
        # If PyTorch made exp(−inf)·(−inf − a) = 0, the pinned NaN spec would say so.
        pytest.param(
            kl_specs.test_kl5_zero_target_is_nan_with_log_target,
            {**CPU64, "kl_div": planted.manual_kl_div(zero_safe=True)},
            "log_target=True on log t value",
            id="kl5-nan-pin-reports-a-zero-safe-log-target",
        ),
    ],
)
def test_kl_specs_catch_planted_bug(spec, arguments, message):
    assert message in spec_failure(spec, **arguments)
