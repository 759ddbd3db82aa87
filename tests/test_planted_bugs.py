"""Each headline spec fails on a planted, realistic bug, and passes the same code without it.

The specs are called directly, with the buggy implementation in place of the torch one; the
hypothesis search (``tests.planting.spec_failure``: no shrinking) then has to find an input
that exposes the bug. A control runs the same hand-written implementation with the bug switched
off, so a failure is the bug's doing.
"""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from specs import test_binary_cross_entropy as bce_specs
from specs import test_cross_entropy as ce_specs
from specs import test_kl_divergence as kl_specs
from specs import test_optimizers as opt_specs
from tests import planted
from tests.planting import CPU64, spec_failure
from verify.oracles.reduction import REDUCTIONS

CE1 = {**CPU64, "nll_loss": F.nll_loss, "log_softmax": F.log_softmax}


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce1_accepts_the_manual_cross_entropy_without_bugs(reduction):
    ce_specs.test_ce1_cross_entropy_equals_nll_of_log_softmax(
        **CE1, reduction=reduction, cross_entropy=planted.manual_cross_entropy()
    )


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
        ce_specs.test_ce1_cross_entropy_equals_nll_of_log_softmax,
        **CE1,
        reduction=reduction,
        cross_entropy=planted.manual_cross_entropy(**bug),
    )
    assert message in failure


def test_ce1_catches_log_of_softmax():
    failure = spec_failure(
        ce_specs.test_ce1_cross_entropy_equals_nll_of_log_softmax,
        **CPU64,
        reduction="sum",
        cross_entropy=F.cross_entropy,
        nll_loss=F.nll_loss,
        log_softmax=planted.naive_log_softmax,
    )
    assert "NLLLoss(LogSoftmax)" in failure


def test_ce4_catches_mean_over_count():
    failure = spec_failure(
        ce_specs.test_ce4_published_example,
        **CPU64,
        cross_entropy=F.cross_entropy,
        nll_loss=F.nll_loss,
        log_softmax=F.log_softmax,
        kl_div=planted.kl_div_batchmean_as_mean,
    )
    assert "published 0.5493" in failure


BCE7 = {**CPU64, "targets": "hard", "reduction": "none", "cross_entropy": F.cross_entropy}


def test_bce7_accepts_the_manual_bce_with_logits_without_bugs():
    bce_specs.test_bce7_two_class_cross_entropy_equals_bce_with_logits(
        **BCE7, binary_cross_entropy_with_logits=planted.manual_bce_with_logits()
    )


def test_bce7_catches_literal_log_of_sigmoid():
    failure = spec_failure(
        bce_specs.test_bce7_two_class_cross_entropy_equals_bce_with_logits,
        **BCE7,
        binary_cross_entropy_with_logits=planted.manual_bce_with_logits(naive_sigmoid=True),
    )
    assert "BCEWithLogitsLoss" in failure


def test_bce7_catches_probability_clamp():
    failure = spec_failure(
        bce_specs.test_bce7_bce_on_probabilities_equals_two_class_nll,
        **CPU64,
        reduction="none",
        binary_cross_entropy=planted.clamped_bce(1e-7),
        nll_loss=F.nll_loss,
    )
    assert "BCELoss" in failure


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


@pytest.mark.parametrize("config", list(opt_specs.SGD_CONFIGS))
def test_wd1_accepts_the_planted_sgd_without_bugs(config):
    opt_specs.test_wd1_sgd_weight_decay_equals_l2_penalty(
        **CPU64, config=config, sgd=planted.planted_sgd()
    )


@pytest.mark.parametrize(
    ("bug", "config"),
    [
        ({"decay_factor": 2.0}, "plain"),
        ({"decoupled": True}, "momentum"),
        ({"decoupled": True}, "nesterov"),
    ],
    ids=["no-half-convention", "decoupled-momentum", "decoupled-nesterov"],
)
def test_wd1_catches_planted_sgd_bug(bug, config):
    failure = spec_failure(
        opt_specs.test_wd1_sgd_weight_decay_equals_l2_penalty,
        **CPU64,
        config=config,
        sgd=planted.planted_sgd(**bug),
    )
    assert "iterate" in failure


def test_wd1_per_step_form_catches_missing_half():
    failure = spec_failure(
        opt_specs.test_wd1_plain_sgd_step_shrinks_then_descends,
        **CPU64,
        sgd=planted.planted_sgd(decay_factor=2.0),
    )
    assert "(1 − lr·λ)·w − lr·∇loss" in failure
