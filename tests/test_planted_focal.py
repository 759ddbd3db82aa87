"""The focal-loss and symmetric cross-entropy specs fail on planted, realistic bugs (FL-1 … FL-7,
SCE-1, SCE-2), and pass the same hand-written code without the bug.

Each factory below builds a hand-written implementation from torch primitives; with no bug
switched on it computes the right thing (the controls), and each switch plants one bug seen in
real code. The specs are called directly with the planted implementation in place of the one
under claim, on the CPU in float64 unless a spec is about another dtype;
``tests.planting.spec_failure`` searches for a failing example without shrinking.

At the end, the oracles these specs rest on (``verify.oracles.focal`` and
``verify.oracles.symmetric``) are checked against finite differences and mpmath.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specs import test_focal_loss as fl
from specs import test_symmetric_cross_entropy as sce
from tests.planting import CPU64, spec_failure
from tests.test_oracles import numeric_vjp
from verify.oracles import cross_entropy, focal, symmetric


def _reduce(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


# --------------------------------------------------------------------------------------------
# Planted implementations.


def planted_sigmoid_focal(*, swap_alpha=False, gamma_on_pt=False, shift=0.0):
    """torchvision-style sigmoid focal loss. Bugs: ``swap_alpha`` gives α to the negatives
    (α_t = (1 − α)·y + α·(1 − y)); ``gamma_on_pt`` modulates by p_t^γ instead of (1 − p_t)^γ;
    ``shift`` = 1e-6 is YOLOv5's commented-out "(1.000001 − p_t)^γ, non-zero power for
    gradient stability", whose factor exceeds 1 for hard examples (p_t < 1e-6)."""

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((p_t if gamma_on_pt else (1.0 + shift) - p_t) ** gamma)
        if alpha >= 0:
            a = 1 - alpha if swap_alpha else alpha
            loss = (a * targets + (1 - a) * (1 - targets)) * loss
        return _reduce(loss, reduction)

    return sigmoid_focal_loss


def planted_wrapped_focal(*, force_none=True, swap_alpha=False):
    """The FocalLoss wrapping BCEWithLogitsLoss. Bugs: ``force_none=False`` forgets to set the
    wrapped loss's reduction to 'none', so the modulating factor multiplies the already-reduced
    BCE; ``swap_alpha`` puts α on the negatives."""

    class PlantedFocalLoss(nn.Module):
        def __init__(self, loss_fcn, gamma=1.5, alpha=0.25):
            super().__init__()
            self.loss_fcn, self.gamma, self.alpha = loss_fcn, gamma, alpha
            self.reduction = loss_fcn.reduction
            if force_none:
                self.loss_fcn.reduction = "none"

        def forward(self, pred, true):
            loss = self.loss_fcn(pred, true)
            prob = torch.sigmoid(pred)
            p_t = true * prob + (1 - true) * (1 - prob)
            a = 1 - self.alpha if swap_alpha else self.alpha
            loss = loss * (true * a + (1 - true) * (1 - a)) * (1.0 - p_t) ** self.gamma
            if self.reduction == "mean":
                return loss.mean()
            return loss.sum() if self.reduction == "sum" else loss

    def wrapped(inputs, targets, alpha=0.25, gamma=1.5, reduction="mean"):
        return PlantedFocalLoss(nn.BCEWithLogitsLoss(reduction=reduction), gamma, alpha)(
            inputs, targets
        )

    return wrapped


def planted_logsigmoid_focal(*, sign_slip=False, literal_log=False):
    """The logsigmoid focal loss (no α). Bugs: ``sign_slip`` writes log σ(−x) as log σ(x) + x
    (the identity is log σ(x) − x); ``literal_log`` takes log(sigmoid(x)), log(1 − sigmoid(x))."""

    def logsigmoid_focal_loss(inputs, targets, gamma=2.0, reduction="mean"):
        p = torch.sigmoid(inputs)
        if literal_log:
            log_p, log_not_p = torch.log(p), torch.log(1 - p)
        else:
            log_p = F.logsigmoid(inputs)
            log_not_p = log_p + inputs if sign_slip else F.logsigmoid(-inputs)
        ce = -(targets * log_p + (1 - targets) * log_not_p)
        return _reduce(ce * (targets - p).abs() ** gamma, reduction)

    return logsigmoid_focal_loss


def planted_probability_focal(*, gamma_on_pt=False):
    """Focal loss on probabilities. Bug ``gamma_on_pt``: p_t^γ instead of (1 − p_t)^γ."""

    def probability_focal_loss(p, targets, alpha=0.25, gamma=2.0, reduction="mean"):
        bce = F.binary_cross_entropy(p, targets, reduction="none")
        p_t = targets * p + (1 - targets) * (1 - p)
        factor = targets * alpha + (1 - targets) * (1 - alpha)
        return _reduce(factor * (p_t if gamma_on_pt else 1 - p_t) ** gamma * bce, reduction)

    return probability_focal_loss


def planted_softmax_focal(*, mean_over_all=False, gamma_on_pt=False):
    """Softmax focal loss as NLL(reduction='none') of (1 − p)^γ·log p, reduced by hand. Bugs:
    ``mean_over_all`` takes ``.mean()`` over every position (ignored ones, which NLL zeroes,
    stay in the denominator, and class weights are not normalized); ``gamma_on_pt`` modulates
    by p^γ."""

    def softmax_focal_loss(x, target, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"):
        log_p = F.log_softmax(x, dim=1)
        p = log_p.exp()
        modulated = (p if gamma_on_pt else 1 - p) ** gamma * log_p
        loss = F.nll_loss(
            modulated, target, weight=alpha, ignore_index=ignore_index, reduction="none"
        )
        if reduction != "mean":
            return _reduce(loss, reduction)
        if mean_over_all:
            return loss.mean()
        kept = target != ignore_index
        w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if alpha is None else alpha
        return loss.sum() / (w[torch.where(kept, target, 0)] * kept).sum()

    return softmax_focal_loss


def planted_pt_shortcut(criterion_pos_weight: float):
    """p_t = exp(−loss) from a BCEWithLogitsLoss criterion built with its own pos_weight (as
    YOLOv5 builds BCEcls), which ignores the pos_weight it is called with."""

    def pt_shortcut(inputs, targets, pos_weight=None):
        weight = torch.full(inputs.shape[-1:], criterion_pos_weight, dtype=inputs.dtype)
        criterion = nn.BCEWithLogitsLoss(pos_weight=weight.to(inputs.device), reduction="none")
        return torch.exp(-criterion(inputs, targets))

    return pt_shortcut


def planted_binary_ce(clamp: str = "both"):
    """ce(a, b) with the clamp to [1e-4, 1 − 1e-4] on ``clamp`` = 'both' arguments, only the
    'prediction' b (the usual BCE), or only the 'label' a (the wrong side)."""

    def binary_ce(a, b, eps=1e-4, reduction="none"):
        if clamp in ("both", "label"):
            a = a.clamp(eps, 1 - eps)
        if clamp in ("both", "prediction"):
            b = b.clamp(eps, 1 - eps)
        return _reduce(-(a * torch.log(b) + (1 - a) * torch.log(1 - b)), reduction)

    return binary_ce


def planted_rce(*, clamp_prediction=False):
    """RCE. Bug ``clamp_prediction``: the clamp lands on the softmax instead of the one-hot
    label, so log(onehot) = −inf meets a positive probability."""

    def rce(x, target, eps=1e-4, reduction="mean"):
        p = F.softmax(x, dim=1)
        label = F.one_hot(target, x.shape[1]).to(x.dtype)
        if clamp_prediction:
            p = p.clamp(eps, 1.0)
        else:
            label = label.clamp(eps, 1.0)
        return _reduce(-(p * torch.log(label)).sum(dim=1), reduction)

    return rce


def planted_sce(*, rce_batch_mean=False):
    """SCE = a·CE + b·RCE. Bug ``rce_batch_mean``: ``a * ce + b * rce.mean()`` with a per-sample
    CE (as some SCELoss copies write it), so every sample gets the batch's mean RCE."""

    def sce_loss(x, target, a=1.0, b=1.0, eps=1e-4, reduction="mean"):
        ce = F.cross_entropy(x, target, reduction="none")
        rce = planted_rce()(x, target, eps, reduction="none")
        return _reduce(a * ce + b * (rce.mean() if rce_batch_mean else rce), reduction)

    return sce_loss


# --------------------------------------------------------------------------------------------
# FL-1, FL-2


FL1 = {**CPU64, "reduction": "none"}


def test_fl1_accepts_the_planted_sigmoid_focal_without_bugs():
    fl.test_fl1_sigmoid_focal_loss_matches_definition(
        **FL1, sigmoid_focal_loss=planted_sigmoid_focal()
    )
    fl.test_fl1_gamma_zero_is_alpha_weighted_bce(
        **FL1,
        sigmoid_focal_loss=planted_sigmoid_focal(),
        binary_cross_entropy_with_logits=F.binary_cross_entropy_with_logits,
    )


@pytest.mark.parametrize(
    "bug", [{"swap_alpha": True}, {"gamma_on_pt": True}], ids=["alpha-on-negatives", "gamma-on-pt"]
)
def test_fl1_catches_planted_focal_bug(bug):
    failure = spec_failure(
        fl.test_fl1_sigmoid_focal_loss_matches_definition,
        **FL1,
        sigmoid_focal_loss=planted_sigmoid_focal(**bug),
    )
    assert "sigmoid_focal_loss" in failure


def test_fl1_gamma_zero_catches_alpha_on_negatives():
    failure = spec_failure(
        fl.test_fl1_gamma_zero_is_alpha_weighted_bce,
        **FL1,
        sigmoid_focal_loss=planted_sigmoid_focal(swap_alpha=True),
        binary_cross_entropy_with_logits=F.binary_cross_entropy_with_logits,
    )
    assert "sigmoid_focal_loss(γ = 0)" in failure


FL2 = {**CPU64, "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits}


def test_fl2_accepts_the_planted_sigmoid_focal_without_bugs():
    fl.test_fl2_focal_never_exceeds_alpha_weighted_bce(
        **FL2, reduction="none", sigmoid_focal_loss=planted_sigmoid_focal()
    )
    fl.test_fl2_ratio_to_bce_is_the_modulating_factor(
        **FL2, sigmoid_focal_loss=planted_sigmoid_focal()
    )


def test_fl2_catches_shifted_modulating_factor():
    failure = spec_failure(
        fl.test_fl2_focal_never_exceeds_alpha_weighted_bce,
        **FL2,
        reduction="none",
        sigmoid_focal_loss=planted_sigmoid_focal(shift=1e-6),
    )
    assert "focal loss exceeds α_t·BCE" in failure


def test_fl2_ratio_catches_gamma_on_pt():
    failure = spec_failure(
        fl.test_fl2_ratio_to_bce_is_the_modulating_factor,
        **FL2,
        sigmoid_focal_loss=planted_sigmoid_focal(gamma_on_pt=True),
    )
    assert "FL/BCE" in failure


# --------------------------------------------------------------------------------------------
# FL-3, FL-4, FL-5


def test_fl3_accepts_the_planted_probability_focal_without_bugs():
    for example in fl.EXAMPLE_FL3:
        fl.test_fl3_published_example(
            **CPU64,
            example=example,
            probability_focal_loss=planted_probability_focal(),
            binary_cross_entropy=F.binary_cross_entropy,
        )
    fl.test_fl3_probability_focal_loss_matches_definition(
        **CPU64, reduction="none", probability_focal_loss=planted_probability_focal()
    )


def test_fl3_catches_gamma_on_pt():
    failure = spec_failure(
        fl.test_fl3_published_example,
        **CPU64,
        example="easy",
        probability_focal_loss=planted_probability_focal(gamma_on_pt=True),
        binary_cross_entropy=F.binary_cross_entropy,
    )
    assert "published 0.0005" in failure


FL4 = {**CPU64, "sigmoid_focal_loss": fl.torchvision_sigmoid_focal_loss}


def test_fl4_accepts_the_planted_wrapper_without_bugs():
    fl.test_fl4_published_example(**FL4, wrapped_focal_loss=planted_wrapped_focal())
    fl.test_fl4_wrapped_bce_focal_equals_sigmoid_focal_loss(
        **FL4, reduction="mean", wrapped_focal_loss=planted_wrapped_focal()
    )


def test_fl4_catches_reduction_not_forced_to_none():
    failure = spec_failure(
        fl.test_fl4_wrapped_bce_focal_equals_sigmoid_focal_loss,
        **FL4,
        reduction="mean",
        wrapped_focal_loss=planted_wrapped_focal(force_none=False),
    )
    assert "FocalLoss(BCEWithLogitsLoss) value" in failure


def test_fl4_published_example_catches_alpha_on_negatives():
    failure = spec_failure(
        fl.test_fl4_published_example,
        **FL4,
        wrapped_focal_loss=planted_wrapped_focal(swap_alpha=True),
    )
    assert "published 0.0890" in failure


FL5 = {**CPU64, "reduction": "none", "sigmoid_focal_loss": fl.torchvision_sigmoid_focal_loss}


def test_fl5_accepts_the_planted_logsigmoid_focal_without_bugs():
    fl.test_fl5_logsigmoid_form_equals_sigmoid_form_without_alpha(
        **FL5, logsigmoid_focal_loss=planted_logsigmoid_focal()
    )
    fl.test_fl5_logsigmoid_form_is_finite_and_accurate_for_large_logits(
        device="cpu", dtype=torch.float32, logsigmoid_focal_loss=planted_logsigmoid_focal()
    )


def test_fl5_catches_sign_error_in_log_sigmoid_identity():
    failure = spec_failure(
        fl.test_fl5_logsigmoid_form_equals_sigmoid_form_without_alpha,
        **FL5,
        logsigmoid_focal_loss=planted_logsigmoid_focal(sign_slip=True),
    )
    assert "logsigmoid focal loss" in failure


def test_fl5_catches_literal_log_of_sigmoid():
    failure = spec_failure(
        fl.test_fl5_logsigmoid_form_is_finite_and_accurate_for_large_logits,
        device="cpu",
        dtype=torch.float32,
        logsigmoid_focal_loss=planted_logsigmoid_focal(literal_log=True),
    )
    assert "logsigmoid focal loss at large |x|" in failure


# --------------------------------------------------------------------------------------------
# FL-6, FL-7


def test_fl6_accepts_the_planted_softmax_focal_without_bugs():
    for reduction in ("none", "mean"):
        fl.test_fl6_softmax_focal_loss_matches_definition(
            **CPU64, reduction=reduction, softmax_focal_loss=planted_softmax_focal()
        )
    fl.test_fl6_ignored_positions_contribute_nothing(
        **CPU64, softmax_focal_loss=planted_softmax_focal()
    )


def test_fl6_catches_mean_over_ignored_positions():
    failure = spec_failure(
        fl.test_fl6_ignored_positions_contribute_nothing,
        **CPU64,
        softmax_focal_loss=planted_softmax_focal(mean_over_all=True),
    )
    assert "value" in failure


def test_fl6_catches_gamma_on_pt():
    failure = spec_failure(
        fl.test_fl6_softmax_focal_loss_matches_definition,
        **CPU64,
        reduction="none",
        softmax_focal_loss=planted_softmax_focal(gamma_on_pt=True),
    )
    assert "softmax focal loss" in failure


def test_fl7_accepts_the_planted_shortcut_without_bugs():
    fl.test_fl7_shortcut_equals_explicit_pt_for_hard_labels(
        **CPU64, pt_shortcut=planted_pt_shortcut(1.0)
    )


def test_fl7_catches_criterion_pos_weight():
    failure = spec_failure(
        fl.test_fl7_shortcut_equals_explicit_pt_for_hard_labels,
        **CPU64,
        pt_shortcut=planted_pt_shortcut(2.0),
    )
    assert "exp(−BCEWithLogits) value" in failure


# --------------------------------------------------------------------------------------------
# SCE-1, SCE-2

F32 = {"device": "cpu", "dtype": torch.float32}


def test_sce1_accepts_the_planted_binary_ce_without_bugs():
    for example in sce.EXAMPLES_SCE1:
        sce.test_sce1_published_ratios_in_float32(
            **F32, example=example, binary_ce=planted_binary_ce()
        )
    sce.test_sce1_ce_and_rce_match_definition(
        **CPU64, reduction="none", binary_ce=planted_binary_ce()
    )


@pytest.mark.parametrize("clamp", ["prediction", "label"])
def test_sce1_catches_one_sided_clamp(clamp):
    failure = spec_failure(
        sce.test_sce1_published_ratios_in_float32,
        **F32,
        example="clean label",
        binary_ce=planted_binary_ce(clamp),
    )
    assert "clean label rce/ce" in failure
    failure = spec_failure(
        sce.test_sce1_ce_and_rce_match_definition,
        **CPU64,
        reduction="none",
        binary_ce=planted_binary_ce(clamp),
    )
    assert "ce(" in failure


def test_sce2_accepts_the_planted_rce_and_sce_without_bugs():
    sce.test_sce2_rce_is_scaled_complement_of_target_probability(
        **CPU64, reduction="none", rce=planted_rce()
    )
    sce.test_sce2_sce_is_weighted_sum_of_ce_and_rce(**CPU64, reduction="none", sce=planted_sce())


def test_sce2_catches_clamp_on_the_prediction():
    failure = spec_failure(
        sce.test_sce2_rce_is_scaled_complement_of_target_probability,
        **CPU64,
        reduction="none",
        rce=planted_rce(clamp_prediction=True),
    )
    assert "RCE value" in failure


def test_sce2_catches_batch_mean_rce():
    failure = spec_failure(
        sce.test_sce2_sce_is_weighted_sum_of_ce_and_rce,
        **CPU64,
        reduction="none",
        sce=planted_sce(rce_batch_mean=True),
    )
    assert "SCE" in failure


# --------------------------------------------------------------------------------------------
# The oracles: finite differences and mpmath.


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


@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize(("x", "y"), [(40.0, 1.0), (-40.0, 0.0), (30.0, 0.0), (-1e4, 1.0)])
def test_sigmoid_focal_oracle_matches_mpmath_at_extreme_logits(x, y, gamma):
    with mp.workdps(50):
        z = mp.mpf(x) if y == 1 else -mp.mpf(x)  # p_t = σ(z), 1 − p_t = σ(−z)
        expected = 0.25 if y == 1 else 0.75
        expected *= (1 / (1 + mp.exp(z))) ** gamma * mp.log1p(mp.exp(-z))
    value = focal.sigmoid_focal_loss(np.array([x]), np.array([y]), 0.25, gamma)[0]
    assert value == pytest.approx(float(expected), rel=1e-14)
