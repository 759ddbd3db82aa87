"""The entropy specs (ENT-1, ``specs/test_entropy.py``) fail on the planted bugs of
``tests/planted_entropy.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from specs import test_entropy as ent_specs
from tests import planted_entropy as planted
from tests.planting import CPU64, named, spec_failure
from verify.oracles import entropy as ent

ONE_HOT_AND_UNIFORM = ent_specs.test_ent1_one_hot_has_zero_entropy_and_uniform_has_log_k
BOUNDS = ent_specs.test_ent1_entropy_lies_between_zero_and_log_k
MIXING = ent_specs.test_ent1_mixing_toward_uniform_increases_entropy


@pytest.mark.parametrize("spec", named(ONE_HOT_AND_UNIFORM, BOUNDS, MIXING))
def test_ent1_accepts_the_manual_entropy(spec):
    spec(**CPU64, entropy=planted.manual_entropy())


def test_ent1_logits_accepts_the_manual_entropy():
    ent_specs.test_ent1_entropy_of_logits_values_and_gradients(
        **CPU64, entropy=planted.manual_logit_entropy()
    )


@pytest.mark.parametrize(
    ("spec", "entropy", "message"),
    [
        (ONE_HOT_AND_UNIFORM, planted.manual_entropy(no_xlogy=True), "H(one-hot)"),
        (ONE_HOT_AND_UNIFORM, planted.manual_entropy(base2=True), "H(uniform)"),
        (BOUNDS, planted.manual_entropy(base2=True), "H(p)"),
        (MIXING, planted.manual_entropy(uniform_cross_entropy=True), "H along"),
        (
            ent_specs.test_ent1_entropy_of_logits_values_and_gradients,
            planted.manual_logit_entropy(log_of_softmax=True),
            "H(softmax(z))",
        ),
    ],
    ids=["no-xlogy", "bits-uniform", "bits-bound", "cross-entropy-to-uniform", "log-of-softmax"],
)
def test_ent1_catches_planted_entropy_bug(spec, entropy, message):
    assert message in spec_failure(spec, **CPU64, entropy=entropy)


def test_entropy_oracle_matches_scipy_and_finite_differences():
    """The ``verify.oracles.entropy`` oracle against ``scipy.stats.entropy`` (H and KL) and
    central differences of its gradient (kept here, beside the specs that rely on it)."""
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(4, 5))
    p = stats.dirichlet(np.ones(5)).rvs(4, random_state=rng)
    p[0, 2] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    q = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ent.entropy(p, axis=1), stats.entropy(p, axis=1), rtol=1e-13)
    np.testing.assert_allclose(
        ent.cross_entropy(p, np.log(q), axis=1) - ent.entropy(p, axis=1),
        stats.entropy(p, q, axis=1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(ent.softmax_entropy(z, axis=1), stats.entropy(q, axis=1), rtol=1e-12)
    g, h = rng.normal(size=4), 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        difference = ent.softmax_entropy(up, axis=1) - ent.softmax_entropy(down, axis=1)
        numeric[idx] = np.sum(g * difference) / (2 * h)
    np.testing.assert_allclose(ent.softmax_entropy_vjp(z, g, axis=1), numeric, atol=1e-8)
