"""The symmetric cross-entropy specs (SCE-1, SCE-2, ``specs/test_symmetric_cross_entropy.py``) fail
on the planted bugs of ``tests/planted_symmetric_cross_entropy.py`` and pass the same code with
the bug off (``tests.planting``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from specs import test_symmetric_cross_entropy as sce_specs
from tests import planted_symmetric_cross_entropy as planted
from tests.planting import CPU32, CPU64, planted_bug_test
from tests.test_oracles import numeric_vjp
from verify.oracles import focal, symmetric


def test_sce1_accepts_the_planted_binary_ce_without_bugs():
    for example in sce_specs.EXAMPLES_SCE1:
        sce_specs.test_sce1_published_ratios_in_float32(
            **CPU32, example=example, binary_ce=planted.planted_binary_ce()
        )
    sce_specs.test_sce1_ce_and_rce_match_definition(
        **CPU64, reduction="none", binary_ce=planted.planted_binary_ce()
    )


def test_sce2_accepts_the_planted_rce_and_sce_without_bugs():
    sce_specs.test_sce2_rce_is_scaled_complement_of_target_probability(
        **CPU64, reduction="none", rce=planted.planted_rce()
    )
    sce_specs.test_sce2_sce_is_weighted_sum_of_ce_and_rce(
        **CPU64, reduction="none", sce=planted.planted_sce()
    )


# A clamp on one side only of ce(a, b), planted in both SCE-1 specs.
SCE1_ONE_SIDED_CLAMP = {
    "published": (
        partial(sce_specs.test_sce1_published_ratios_in_float32, **CPU32, example="clean label"),
        "clean label rce/ce",
    ),
    "definition": (
        partial(sce_specs.test_sce1_ce_and_rce_match_definition, **CPU64, reduction="none"),
        "ce(",
    ),
}
# id: (spec with its shared arguments, the arguments that carry the bug, what the failure names)
PLANTED_BUGS = {
    **{
        f"sce1-{form}-one-sided-clamp-{clamp}": (
            spec,
            {"binary_ce": planted.planted_binary_ce(clamp)},
            message,
        )
        for form, (spec, message) in SCE1_ONE_SIDED_CLAMP.items()
        for clamp in ("prediction", "label")
    },
    "sce2-clamp-on-the-prediction": (
        partial(sce_specs.test_sce2_rce_is_scaled_complement_of_target_probability, **CPU64),
        {"reduction": "none", "rce": planted.planted_rce(clamp_prediction=True)},
        "RCE value",
    ),
    "sce2-batch-mean-rce": (
        partial(sce_specs.test_sce2_sce_is_weighted_sum_of_ce_and_rce, **CPU64),
        {"reduction": "none", "sce": planted.planted_sce(rce_batch_mean=True)},
        "SCE",
    ),
}
test_sce_specs_catch_planted_bug = planted_bug_test(PLANTED_BUGS)


def test_pt_and_symmetric_oracle_vjps_match_finite_differences():
    rng = np.random.default_rng(2)
    x, y, pw, g = (
        rng.normal(size=6),
        rng.uniform(size=6),
        rng.uniform(0.5, 3, 6),
        rng.normal(size=6),
    )
    np.testing.assert_allclose(
        focal.target_probability_vjp(x, y, g),
        numeric_vjp(lambda z: focal.target_probability(z, y), x, g),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        focal.bce_shortcut_probability_vjp(x, y, g, pw),
        numeric_vjp(lambda z: focal.bce_shortcut_probability(z, y, pw), x, g),
        rtol=1e-6,
    )
    a, b = rng.uniform(0.05, 0.95, 6), rng.uniform(0.05, 0.95, 6)
    np.testing.assert_allclose(
        symmetric.clamped_binary_cross_entropy_vjp(a, b, g, wrt=0),
        numeric_vjp(lambda z: symmetric.clamped_binary_cross_entropy(z, b), a, g),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        symmetric.clamped_binary_cross_entropy_vjp(a, b, g, wrt=1),
        numeric_vjp(lambda z: symmetric.clamped_binary_cross_entropy(a, z), b, g),
        rtol=1e-6,
    )
    scores, target = rng.normal(scale=3.0, size=(4, 5)), rng.integers(0, 5, size=4)
    for reduction in ("none", "mean", "sum"):
        g = rng.normal(size=4) if reduction == "none" else 0.8
        np.testing.assert_allclose(
            symmetric.symmetric_cross_entropy_vjp(scores, target, g, 0.3, 1.7, 1e-4, reduction),
            numeric_vjp(
                lambda s, r=reduction: symmetric.symmetric_cross_entropy(
                    s, target, 0.3, 1.7, 1e-4, r
                ),
                scores,
                g,
            ),
            rtol=1e-5,
            atol=1e-7,
        )
    rce = symmetric.reverse_cross_entropy(scores, target, 1e-4, "none")
    p_y = np.exp(scores[np.arange(4), target]) / np.exp(scores).sum(axis=1)
    np.testing.assert_allclose(rce, -np.log(1e-4) * (1 - p_y), rtol=1e-12)
