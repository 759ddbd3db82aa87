"""The focal loss specs (FL-1 … FL-7, ``specs/test_focal_loss.py``) fail on the planted bugs of
``tests/planted_focal_loss.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

from functools import partial

import mpmath as mp
import numpy as np
import pytest
import torch.nn.functional as F

from specs import test_focal_loss as fl_specs
from tests import planted_focal_loss as planted
from tests.planting import CPU32, CPU64, planted_bug_test, planted_by
from tests.test_oracles import numeric_vjp
from verify import stand_ins
from verify.oracles import cross_entropy, focal

FL1 = {**CPU64, "reduction": "none"}
WITH_LOGITS = {"binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits}
FL1_DEFINITION = partial(fl_specs.test_fl1_sigmoid_focal_loss_matches_definition, **FL1)
FL1_GAMMA_ZERO = partial(fl_specs.test_fl1_gamma_zero_is_alpha_weighted_bce, **FL1, **WITH_LOGITS)
FL2_BOUND = partial(
    fl_specs.test_fl2_focal_never_exceeds_alpha_weighted_bce,
    **CPU64,
    **WITH_LOGITS,
    reduction="none",
)
FL2_RATIO = partial(fl_specs.test_fl2_ratio_to_bce_is_the_modulating_factor, **CPU64, **WITH_LOGITS)
FL3_EXAMPLE = partial(
    fl_specs.test_fl3_published_example, **CPU64, binary_cross_entropy=F.binary_cross_entropy
)
FL3_DEFINITION = partial(
    fl_specs.test_fl3_probability_focal_loss_matches_definition, **CPU64, reduction="none"
)
FL4 = {**CPU64, "sigmoid_focal_loss": stand_ins.torchvision_sigmoid_focal_loss}
FL4_EXAMPLE = partial(fl_specs.test_fl4_published_example, **FL4)
FL4_SAME_MEAN = partial(
    fl_specs.test_fl4_wrapped_bce_focal_equals_sigmoid_focal_loss, **FL4, reduction="mean"
)
FL5_IDENTITY = partial(
    fl_specs.test_fl5_logsigmoid_form_equals_sigmoid_form_without_alpha,
    **FL1,
    sigmoid_focal_loss=stand_ins.torchvision_sigmoid_focal_loss,
)
FL5_LARGE_LOGITS = partial(
    fl_specs.test_fl5_logsigmoid_form_is_finite_and_accurate_for_large_logits, **CPU32
)
FL6_DEFINITION = partial(fl_specs.test_fl6_softmax_focal_loss_matches_definition, **CPU64)
FL6_IGNORED = partial(fl_specs.test_fl6_ignored_positions_contribute_nothing, **CPU64)
FL7 = partial(fl_specs.test_fl7_shortcut_equals_explicit_pt_for_hard_labels, **CPU64)


def test_fl1_fl2_accept_the_planted_sigmoid_focal_without_bugs():
    for spec in (FL1_DEFINITION, FL1_GAMMA_ZERO, FL2_BOUND, FL2_RATIO):
        spec(sigmoid_focal_loss=planted.planted_sigmoid_focal())


def test_fl3_accepts_the_planted_probability_focal_without_bugs():
    for example in fl_specs.EXAMPLE_FL3:
        FL3_EXAMPLE(example=example, probability_focal_loss=planted.planted_probability_focal())
    FL3_DEFINITION(probability_focal_loss=planted.planted_probability_focal())


def test_fl4_accepts_the_planted_wrapper_without_bugs():
    for spec in (FL4_EXAMPLE, FL4_SAME_MEAN):
        spec(wrapped_focal_loss=planted.planted_wrapped_focal())


def test_fl5_accepts_the_planted_logsigmoid_focal_without_bugs():
    for spec in (FL5_IDENTITY, FL5_LARGE_LOGITS):
        spec(logsigmoid_focal_loss=planted.planted_logsigmoid_focal())


def test_fl6_accepts_the_planted_softmax_focal_without_bugs():
    for reduction in ("none", "mean"):
        FL6_DEFINITION(reduction=reduction, softmax_focal_loss=planted.planted_softmax_focal())
    FL6_IGNORED(softmax_focal_loss=planted.planted_softmax_focal())


def test_fl7_accepts_the_planted_shortcut_without_bugs():
    FL7(pt_shortcut=planted.planted_pt_shortcut(1.0))


# id: (spec with its shared arguments, the switches of the planted builder that plant the bug,
# what the failure names), by planted builder
PLANTED_BUGS = {
    **planted_by(
        planted.planted_sigmoid_focal,
        "sigmoid_focal_loss",
        {
            "fl1-alpha-on-negatives": (FL1_DEFINITION, {"swap_alpha": True}, "sigmoid_focal_loss"),
            "fl1-gamma-on-pt": (FL1_DEFINITION, {"gamma_on_pt": True}, "sigmoid_focal_loss"),
            "fl1-gamma-zero-alpha-on-negatives": (
                FL1_GAMMA_ZERO,
                {"swap_alpha": True},
                "sigmoid_focal_loss(γ = 0)",
            ),
            "fl2-shifted-modulating-factor": (
                FL2_BOUND,
                {"shift": 1e-6},
                "focal loss exceeds α_t·BCE",
            ),
            "fl2-ratio-gamma-on-pt": (FL2_RATIO, {"gamma_on_pt": True}, "FL/BCE"),
        },
    ),
    **planted_by(
        planted.planted_probability_focal,
        "probability_focal_loss",
        {
            "fl3-gamma-on-pt": (
                partial(FL3_EXAMPLE, example="easy"),
                {"gamma_on_pt": True},
                "published 0.0005",
            )
        },
    ),
    **planted_by(
        planted.planted_wrapped_focal,
        "wrapped_focal_loss",
        {
            "fl4-reduction-not-forced-to-none": (
                FL4_SAME_MEAN,
                {"force_none": False},
                "FocalLoss(BCEWithLogitsLoss) value",
            ),
            "fl4-published-example-alpha-on-negatives": (
                FL4_EXAMPLE,
                {"swap_alpha": True},
                "published 0.0890",
            ),
        },
    ),
    **planted_by(
        planted.planted_logsigmoid_focal,
        "logsigmoid_focal_loss",
        {
            "fl5-sign-error-in-log-sigmoid-identity": (
                FL5_IDENTITY,
                {"sign_slip": True},
                "logsigmoid focal loss",
            ),
            "fl5-literal-log-of-sigmoid": (
                FL5_LARGE_LOGITS,
                {"literal_log": True},
                "logsigmoid focal loss at large |x|",
            ),
        },
    ),
    **planted_by(
        planted.planted_softmax_focal,
        "softmax_focal_loss",
        {
            "fl6-mean-over-ignored-positions": (FL6_IGNORED, {"mean_over_all": True}, "value"),
            "fl6-gamma-on-pt": (
                partial(FL6_DEFINITION, reduction="none"),
                {"gamma_on_pt": True},
                "softmax focal loss",
            ),
        },
    ),
    "fl7-criterion-pos-weight": (
        FL7,
        {"pt_shortcut": planted.planted_pt_shortcut(2.0)},
        "exp(−BCEWithLogits) value",
    ),
}
test_fl_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.3])
@pytest.mark.parametrize("alpha", [-1.0, 0.25, 0.9])
def test_sigmoid_focal_oracle_vjp_matches_finite_differences(alpha, gamma):
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(4, 3))
    for y in (rng.integers(0, 2, size=(4, 3)).astype(float), rng.uniform(size=(4, 3))):
        for reduction in ("none", "mean", "sum"):
            g = rng.normal(size=(4, 3)) if reduction == "none" else 1.7
            analytic = focal.sigmoid_focal_loss_vjp(x, y, g, alpha, gamma, reduction)
            numeric = numeric_vjp(
                lambda z, y=y, r=reduction: focal.sigmoid_focal_loss(z, y, alpha, gamma, r), x, g
            )
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 4.0])
def test_softmax_and_probability_focal_oracle_vjps_match_finite_differences(gamma):
    rng = np.random.default_rng(1)
    scores = rng.normal(scale=3.0, size=(4, 5, 2))
    target = rng.integers(0, 5, size=(4, 2))
    target[0, 0] = -100
    p = rng.uniform(0.01, 0.99, size=6)
    y = rng.integers(0, 2, size=6).astype(float)
    for weight in (None, rng.uniform(0.1, 3.0, size=5)):
        for reduction in ("none", "mean", "sum"):
            g = rng.normal(size=(4, 2)) if reduction == "none" else 0.8
            analytic = focal.softmax_focal_loss_vjp(
                scores, target, g, gamma, weight, -100, reduction
            )
            numeric = numeric_vjp(
                lambda s, w=weight, r=reduction: focal.softmax_focal_loss(
                    s, target, gamma, w, -100, r
                ),
                scores,
                g,
            )
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    g = rng.normal(size=6)
    np.testing.assert_allclose(
        focal.probability_focal_loss_vjp(p, y, g, 0.7, gamma, "none"),
        numeric_vjp(lambda q: focal.probability_focal_loss(q, y, 0.7, gamma, "none"), p, g),
        rtol=1e-5,
        atol=1e-7,
    )
    weight = rng.uniform(0.1, 3.0, size=5)
    np.testing.assert_allclose(
        focal.softmax_focal_loss(scores, target, 0.0, weight, -100, "mean"),
        cross_entropy(scores, target, weight, -100, "mean"),
        rtol=1e-14,
    )


@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize(("x", "y"), [(40.0, 1.0), (-40.0, 0.0), (30.0, 0.0), (-1e4, 1.0)])
def test_sigmoid_focal_oracle_matches_mpmath_at_extreme_logits(x, y, gamma):
    with mp.workdps(50):
        z = mp.mpf(x) if y == 1 else -mp.mpf(x)  # p_t = σ(z), 1 − p_t = σ(−z)
        expected = 0.25 if y == 1 else 0.75
        expected *= (1 / (1 + mp.exp(z))) ** gamma * mp.log1p(mp.exp(-z))
    value = focal.sigmoid_focal_loss(np.array([x]), np.array([y]), 0.25, gamma)[0]
    assert value == pytest.approx(float(expected), rel=1e-14)
