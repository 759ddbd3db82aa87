"""The KL, entropy and softmax specs fail on planted, realistic bugs, and pass without them.

Each hand-written implementation below computes the right thing with no bug switched on (the
controls), and each switch plants one bug seen in real code. The specs are called directly,
as in ``test_planted_bugs``; hypothesis has to find an input that exposes the bug
(``tests.planting.spec_failure``: without shrinking, up to 100 examples under any profile).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from specs import test_kl_divergence as kl_specs
from specs import test_softmax as sm_specs
from tests import planted
from tests.planting import CPU32, CPU64, spec_failure
from verify.oracles import entropy as ent


def _reduce(pointwise, reduction, batch_size):
    if reduction == "batchmean":
        return pointwise.sum() / batch_size
    return {"none": pointwise, "sum": pointwise.sum(), "mean": pointwise.mean()}[reduction]


def manual_kl_div(
    *,
    swapped: bool = False,
    no_xlogy: bool = False,
    negated: bool = False,
    cross_entropy_only: bool = False,
    log_target_as_probabilities: bool = False,
    zero_safe: bool = False,
):
    """``F.kl_div`` written out: t·(log t − a), or exp(s)·(s − a) with ``log_target``.

    Bugs: ``swapped`` computes KL(Q‖P) = Σ q·(log q − log t); ``no_xlogy`` writes t·log t
    literally (0·(−inf) = NaN at t = 0); ``negated`` returns Σ t·(a − log t), log(q/p)
    written for log(p/q); ``cross_entropy_only`` drops the
    target's Σ t log t (it is CE, not KL); ``log_target_as_probabilities`` ignores
    ``log_target``. ``zero_safe`` is not a bug but a change from PyTorch: terms with t = 0
    are 0 whatever the input, as in mathematics, instead of NaN.
    """

    def kl_div(log_input, target, reduction="mean", log_target=False):
        t = target
        if log_target and not log_target_as_probabilities:
            t = target.exp()
            pointwise = t * (target - log_input)
        elif swapped:
            pointwise = log_input.exp() * (log_input - torch.log(t))
        elif cross_entropy_only:
            pointwise = -t * log_input
        elif no_xlogy:
            pointwise = t * (torch.log(t) - log_input)
        else:
            pointwise = torch.special.xlogy(t, t) - t * log_input
        if zero_safe:
            pointwise = torch.where(t == 0, torch.zeros_like(pointwise), pointwise)
        if negated:
            pointwise = -pointwise
        return _reduce(pointwise, reduction, log_input.shape[0])

    return kl_div


def manual_cross_entropy(*, smoothing_over_other_classes: bool = False):
    """Cross-entropy −Σ t·log_softmax(x) with probability targets, or class indices with
    label smoothing t = (1 − ε)·onehot + ε/C. Bug ``smoothing_over_other_classes`` spreads ε
    over the C − 1 other classes instead (a variant some code bases use)."""

    def cross_entropy(x, target, reduction="mean", label_smoothing=0.0):
        n_classes = x.shape[1]
        if target.is_floating_point():
            t = target
        else:
            one_hot = F.one_hot(target, n_classes).to(x.dtype)
            if smoothing_over_other_classes:
                rest = label_smoothing / (n_classes - 1) * (1 - one_hot)
                t = (1 - label_smoothing) * one_hot + rest
            else:
                t = (1 - label_smoothing) * one_hot + label_smoothing / n_classes
        losses = -(t * F.log_softmax(x, dim=1)).sum(dim=1)
        return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]

    return cross_entropy


def manual_entropy(*, base2: bool = False, no_xlogy: bool = False, uniform_cross_entropy=False):
    """H(p) = −Σ xlogy(p, p) along dim 1. Bugs: ``base2`` measures in bits (log2);
    ``no_xlogy`` writes p·log p (NaN at p = 0); ``uniform_cross_entropy`` returns
    −mean_c log p_c, the cross-entropy against the uniform distribution, as an "entropy"."""

    def entropy(p):
        if uniform_cross_entropy:
            return -torch.log(p).mean(dim=1)
        terms = p * torch.log(p) if no_xlogy else torch.special.xlogy(p, p)
        h = -terms.sum(dim=1)
        return h / np.log(2.0) if base2 else h

    return entropy


def manual_logit_entropy(*, log_of_softmax: bool = False):
    """H(softmax(z)) = −Σ softmax·log_softmax. Bug ``log_of_softmax``: log(softmax(z)), which
    is −inf where softmax underflows, and 0·(−inf) = NaN."""

    def entropy(z):
        p = F.softmax(z, dim=1)
        log_p = torch.log(p) if log_of_softmax else F.log_softmax(z, dim=1)
        return -(p * log_p).sum(dim=1)

    return entropy


def manual_softmax(
    *,
    subtract_max: bool = True,
    wrong_dim: bool = False,
    half_precision: bool = False,
    clamp: float = 0.0,
):
    """exp(x − max)/Σ exp(x − max) along ``dim``. Bugs: ``subtract_max=False`` is the tutorial
    form; ``wrong_dim`` normalizes over dim 0 (the batch, as an implicit dim does);
    ``half_precision`` computes in float16 and casts back (autocast-style); ``clamp`` keeps
    the outputs in [clamp, 1 − clamp], a common guard before a log."""

    def softmax(x, dim=1):
        dim = 0 if wrong_dim else dim
        y = x.half() if half_precision else x
        if subtract_max:
            y = y - y.amax(dim=dim, keepdim=True).detach()
        e = torch.exp(y)
        p = (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
        return p.clamp(clamp, 1 - clamp) if clamp else p

    return softmax


def manual_log_softmax(x, dim=1):
    """log_softmax(x) = x − max − log Σ exp(x − max)."""
    shifted = x - x.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


# --- KL-1 -------------------------------------------------------------------------------------


def test_kl1_accepts_the_manual_kl_div():
    kl_specs.test_kl1_kl_equals_cross_entropy_minus_entropy(**CPU64, kl_div=manual_kl_div())


@pytest.mark.parametrize(
    "bug", [{"swapped": True}, {"no_xlogy": True}], ids=["swapped-arguments", "no-xlogy"]
)
def test_kl1_catches_planted_kl_bug(bug):
    failure = spec_failure(
        kl_specs.test_kl1_kl_equals_cross_entropy_minus_entropy,
        **CPU64,
        kl_div=manual_kl_div(**bug),
    )
    assert "KLDivLoss" in failure


# --- KL-3 -------------------------------------------------------------------------------------

KL3_SPECS = [
    kl_specs.test_kl3_kl_is_not_symmetric,
    kl_specs.test_kl3_kl_is_nonnegative,
    kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero,
    kl_specs.test_kl3_kl_is_positive_when_distributions_differ,
]


@pytest.mark.parametrize("spec", KL3_SPECS, ids=lambda spec: spec.__name__)
def test_kl3_accepts_the_manual_kl_div(spec):
    spec(**CPU64, kl_div=manual_kl_div())


@pytest.mark.parametrize(
    ("spec", "kl_div", "message"),
    [
        (kl_specs.test_kl3_kl_is_not_symmetric, manual_kl_div(swapped=True), "KL value"),
        (kl_specs.test_kl3_kl_is_nonnegative, manual_kl_div(negated=True), "KL(P‖Q)"),
        (
            kl_specs.test_kl3_kl_of_a_distribution_to_itself_is_zero,
            manual_kl_div(cross_entropy_only=True),
            "KL(P‖P)",
        ),
        (
            kl_specs.test_kl3_kl_is_positive_when_distributions_differ,
            planted.kl_div_batchmean_as_mean,
            "KL(P‖Q) batchmean",
        ),
        (kl_specs.test_kl3_log_input_must_be_finite, manual_kl_div(zero_safe=True), "kl_div"),
    ],
    ids=["swapped", "negated", "cross-entropy-as-kl", "batchmean-as-mean", "zero-safe-input"],
)
def test_kl3_catches_planted_kl_bug(spec, kl_div, message):
    assert message in spec_failure(spec, **CPU64, kl_div=kl_div)


# --- KL-4 -------------------------------------------------------------------------------------

KL4 = {**CPU64, "kl_div": F.kl_div}


def test_kl4_accepts_the_manual_cross_entropy():
    kl_specs.test_kl4_kl_is_cross_entropy_minus_target_entropy(
        **KL4, log_softmax=F.log_softmax, cross_entropy=manual_cross_entropy()
    )


def test_kl4_catches_smoothing_over_the_other_classes():
    failure = spec_failure(
        kl_specs.test_kl4_kl_is_cross_entropy_minus_target_entropy,
        **KL4,
        log_softmax=F.log_softmax,
        cross_entropy=manual_cross_entropy(smoothing_over_other_classes=True),
    )
    assert "CrossEntropyLoss" in failure and "smoothed" in failure


def test_kl4_minimum_accepts_the_manual_log_softmax():
    kl_specs.test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy(
        **KL4, log_softmax=manual_log_softmax, cross_entropy=F.cross_entropy
    )


def test_kl4_minimum_catches_kl_fed_probabilities():
    """kl_div(softmax(z), t): probabilities where log-probabilities belong."""
    failure = spec_failure(
        kl_specs.test_kl4_minimum_is_zero_for_kl_and_target_entropy_for_cross_entropy,
        **KL4,
        log_softmax=manual_softmax(),
        cross_entropy=F.cross_entropy,
    )
    assert "KL" in failure


# --- KL-5 -------------------------------------------------------------------------------------


def test_kl5_accepts_the_manual_kl_div():
    kl_specs.test_kl5_log_target_equals_probability_target(**CPU64, kl_div=manual_kl_div())
    kl_specs.test_kl5_zero_target_is_nan_with_log_target(**CPU64, kl_div=manual_kl_div())


def test_kl5_catches_log_target_treated_as_probabilities():
    failure = spec_failure(
        kl_specs.test_kl5_log_target_equals_probability_target,
        **CPU64,
        kl_div=manual_kl_div(log_target_as_probabilities=True),
    )
    assert "log_target=True on log t" in failure


def test_kl5_nan_pin_reports_a_zero_safe_log_target():
    """If PyTorch made exp(−inf)·(−inf − a) = 0, the pinned NaN spec would say so."""
    failure = spec_failure(
        kl_specs.test_kl5_zero_target_is_nan_with_log_target,
        **CPU64,
        kl_div=manual_kl_div(zero_safe=True),
    )
    assert "log_target=True on log t value" in failure


# --- ENT-1 ------------------------------------------------------------------------------------

ENT1_PROBABILITY_SPECS = [
    kl_specs.test_ent1_one_hot_has_zero_entropy_and_uniform_has_log_k,
    kl_specs.test_ent1_entropy_lies_between_zero_and_log_k,
    kl_specs.test_ent1_mixing_toward_uniform_increases_entropy,
]


@pytest.mark.parametrize("spec", ENT1_PROBABILITY_SPECS, ids=lambda spec: spec.__name__)
def test_ent1_accepts_the_manual_entropy(spec):
    spec(**CPU64, entropy=manual_entropy())


def test_ent1_logits_accepts_the_manual_entropy():
    kl_specs.test_ent1_entropy_of_logits_values_and_gradients(
        **CPU64, entropy=manual_logit_entropy()
    )


@pytest.mark.parametrize(
    ("spec", "entropy", "message"),
    [
        (ENT1_PROBABILITY_SPECS[0], manual_entropy(no_xlogy=True), "H(one-hot)"),
        (ENT1_PROBABILITY_SPECS[0], manual_entropy(base2=True), "H(uniform)"),
        (ENT1_PROBABILITY_SPECS[1], manual_entropy(base2=True), "H(p)"),
        (ENT1_PROBABILITY_SPECS[2], manual_entropy(uniform_cross_entropy=True), "H along"),
        (
            kl_specs.test_ent1_entropy_of_logits_values_and_gradients,
            manual_logit_entropy(log_of_softmax=True),
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


# --- SM-1, SM-2 -------------------------------------------------------------------------------

SM_SPECS = {
    "values": sm_specs.test_sm1_softmax_and_log_softmax_match_the_oracle,
    "unit-interval": sm_specs.test_sm1_outputs_lie_in_unit_interval_and_sum_to_one,
    "strictly-inside": sm_specs.test_sm1_outputs_strictly_inside_for_moderate_gaps,
    "boundary": sm_specs.test_sm1_outputs_reach_one_and_zero_past_the_boundary,
    "published": sm_specs.test_sm1_published_example,
    "shift": sm_specs.test_sm2_softmax_is_shift_invariant,
    "outside-exp-range": sm_specs.test_sm2_tutorial_softmax_is_nan_outside_the_exp_range,
    "100-0": sm_specs.test_sm2_tutorial_softmax_is_nan_for_100_0_where_softmax_gives_1_0,
}


def _softmax_arguments(spec, softmax, dtype_kw):
    arguments = {**dtype_kw, "softmax": softmax}
    if "log_softmax" in inspect.signature(spec).parameters:
        arguments["log_softmax"] = manual_log_softmax
    return arguments


@pytest.mark.parametrize("name", list(SM_SPECS))
def test_sm_accepts_the_manual_softmax(name):
    spec = SM_SPECS[name]
    dtype_kw = CPU32 if name == "100-0" else CPU64
    spec(**_softmax_arguments(spec, manual_softmax(), dtype_kw))


@pytest.mark.parametrize(
    ("name", "bug", "dtype_kw", "message"),
    [
        ("values", {"wrong_dim": True}, CPU64, "softmax value"),
        ("unit-interval", {"wrong_dim": True}, CPU64, "Σ softmax"),
        ("strictly-inside", {"half_precision": True}, CPU32, "outputs"),
        ("boundary", {"clamp": 1e-7}, CPU64, "never reaches"),
        ("published", {"wrong_dim": True}, CPU64, "published"),
        ("shift", {"subtract_max": False}, CPU64, "softmax(x + c)"),
        ("outside-exp-range", {"subtract_max": False}, CPU64, "past exp's range"),
        ("100-0", {"subtract_max": False}, CPU32, "[1, 0]"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_sm_catches_planted_softmax_bug(name, bug, dtype_kw, message):
    spec = SM_SPECS[name]
    arguments = _softmax_arguments(spec, manual_softmax(**bug), dtype_kw)
    assert message in spec_failure(spec, **arguments)


def test_sm2_tutorial_spec_catches_a_wrong_dim_tutorial(monkeypatch):
    """The spec of the tutorial softmax inside exp's range fails if that softmax is wrong."""
    sm_specs.test_sm2_tutorial_softmax_matches_inside_the_exp_range(**CPU64)
    monkeypatch.setattr(
        sm_specs, "tutorial_softmax", manual_softmax(subtract_max=False, wrong_dim=True)
    )
    failure = spec_failure(sm_specs.test_sm2_tutorial_softmax_matches_inside_the_exp_range, **CPU64)
    assert "tutorial softmax" in failure
