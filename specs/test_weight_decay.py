"""Weight decay and regularization in optimizers: WD-1 (headline) to WD-5.

WD-1 (headline): SGD weight decay is an L2 penalty.

``SGD(weight_decay=λ)`` adds λ·w to the gradient before momentum, which is exactly the gradient
of the penalty (λ/2)‖w‖². So over any number of steps, with or without momentum, dampening
and Nesterov, SGD with weight decay on ``loss`` follows the same trajectory as plain SGD on
``loss + (λ/2)‖w‖²``; for plain SGD each step is w ← (1 − lr·λ)·w − lr·∇loss(w).

The problem is a linear softmax classifier (weights W of shape (C, D), cross-entropy on
X·Wᵀ). Both torch trajectories are held to a float64 NumPy trajectory of the documented SGD
algorithm (``verify.oracles.sgd_trajectory``) driven by the oracle's cross-entropy gradient.

The other claims use the same problems (WD-5 a separable lasso):

- WD-2: Adam's weight_decay is coupled L2, the same trajectory as Adam on loss + (λ/2)‖w‖²
  (``verify.oracles.optim.adam_trajectory``).
- WD-3 (refuted for AdamW): AdamW decays decoupled, w ← w·(1 − lr·λ) then the Adam step
  (``adamw_trajectory``), which is not Adam + L2 (a counterexample is asserted).
- WD-4: parameter groups on ``nn.Linear``: a weight_decay=0 bias group is not decayed; a
  penalty (α/2)Σw² over the weights is weight_decay=α on the weight group; αΣw² is 2α.
- WD-5 (refuted): ∇ βΣ|w| = β·sign(w) with sign(0) = 0, but subgradient SGD leaves weights
  jumping across zero; a soft-threshold (proximal) step gives exact zeros.

OBJ-1 (the gradient of loss + penalty) is in ``specs/test_objectives.py``, on the same problem.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from specs.linear_problems import (
    classifier_problems,
    gradient_magnitude,
    linear_gradient,
    linear_model,
    linear_problems,
    oracle_gradient,
)
from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import value_and_grad
from verify.checks import check, check_differs
from verify.devices import rounded, to_device
from verify.oracles.optim import adam_trajectory, adamw_trajectory
from verify.tolerances import Comparison, assert_close, tolerance

STEPS = 5
SGD_CONFIGS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.9, "dampening": 0.5},
    "nesterov": {"momentum": 0.9, "nesterov": True},
}


def torch_trajectory(optimizer_cls, problem, device, dtype, *, penalty, **config):
    """Iterates of ``optimizer_cls`` on the problem: weight_decay=λ, or λ/2‖W‖² in the loss."""
    X, y = to_device(problem["X"], device, dtype), to_device(problem["y"], device)
    W = to_device(problem["W0"], device, dtype, requires_grad=True)
    lam = problem["weight_decay"]
    decay = 0.0 if penalty else lam
    optimizer = optimizer_cls([W], lr=problem["lr"], weight_decay=decay, **config)
    trajectory = [W.detach().clone()]
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(X @ W.T, y)
        if penalty:
            loss = loss + lam / 2 * (W * W).sum()
        loss.backward()
        optimizer.step()
        trajectory.append(W.detach().clone())
    return trajectory


def trajectory_terms(problem) -> int:
    """The rounding terms behind an iterate after STEPS steps: per output row every feature,
    and every target too where the model has biases (``b0``, a linear problem)."""
    targets = problem["y"].size if "b0" in problem else 0
    return STEPS * (problem["X"].size + targets) * problem["W0"].shape[0]


@pytest.mark.claim("WD-1")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("config", list(SGD_CONFIGS), ids=list(SGD_CONFIGS))
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd1_sgd_weight_decay_equals_l2_penalty(device, dtype, config, sgd, data):
    """SGD(weight_decay=λ) on loss = SGD on loss + (λ/2)‖w‖², step by step, every SGD variant."""
    problem = data.draw(classifier_problems(dtype), label="problem")
    settings = SGD_CONFIGS[config]
    expected = oracles.sgd_trajectory(
        problem["W0"],
        oracle_gradient(problem["X"], problem["y"]),
        steps=STEPS,
        lr=problem["lr"],
        weight_decay=problem["weight_decay"],
        **settings,
    )
    terms = STEPS * problem["X"].size * problem["W0"].shape[0]
    for penalty in (False, True):
        form = "SGD on loss + (λ/2)‖w‖²" if penalty else "SGD(weight_decay=λ)"
        actual = torch_trajectory(sgd, problem, device, dtype, penalty=penalty, **settings)
        for step, (w, w_ref) in enumerate(zip(actual, expected, strict=True)):
            assert_close(
                w, w_ref, dtype=dtype, terms=terms, condition=STEPS, what=f"{form}, iterate {step}"
            )


@pytest.mark.claim("WD-1")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd1_plain_sgd_step_shrinks_then_descends(device, dtype, sgd, data):
    """Plain SGD with weight decay steps w ← (1 − lr·λ)·w − lr·∇loss(w), at every iterate."""
    problem = data.draw(classifier_problems(dtype), label="problem")
    gradient = oracle_gradient(problem["X"], problem["y"])
    lr, lam = problem["lr"], problem["weight_decay"]
    trajectory = torch_trajectory(sgd, problem, device, dtype, penalty=False)
    terms = problem["X"].size * problem["W0"].shape[0]
    for step in range(STEPS):
        w = trajectory[step].to("cpu", torch.float64).numpy()
        assert_close(
            trajectory[step + 1],
            (1 - lr * lam) * w - lr * gradient(w),
            dtype=dtype,
            terms=terms,
            what=f"step {step + 1} against (1 − lr·λ)·w − lr·∇loss",
        )


# WD-2 and WD-3: Adam's coupled weight decay, AdamW's decoupled decay.


@st.composite
def adam_settings(draw):
    """Adam's betas and ε (lr and λ come with ``classifier_problems``)."""
    beta1 = draw(st.sampled_from([0.0, 0.5, 0.9]))
    beta2 = draw(st.sampled_from([0.9, 0.99, 0.999]))
    return {"betas": (beta1, beta2), "eps": draw(st.sampled_from([1e-8, 1e-6, 1e-3]))}


def gradient_lipschitz(X, decay):
    """Per weight W_cd, a bound on Σ_k |∂g_cd/∂w_k| for g = ∇ mean CE(X·Wᵀ) + λ·w.

    How far an error in w moves each gradient: the Hessian of the cross-entropy is
    (1/N)·Σ_i (diag p_i − p_i p_iᵀ) ⊗ x_i x_iᵀ, and the absolute row sums of diag p − p pᵀ
    are 2·p_c(1 − p_c) ≤ ½, so row (c, d) sums to at most ½·mean_i |x_id|·‖x_i‖₁.
    """
    if X.size == 0:
        return np.full(X.shape[1:], decay)
    return 0.5 * (np.abs(X) * np.abs(X).sum(axis=1, keepdims=True)).mean(axis=0) + decay


def adam_conditions(problem, expected, settings, dtype, *, decay, coupled):
    """The rounding-error amplification of each iterate of an Adam trajectory (``condition``).

    Step t moves weight j by lr·m̂_tj/(√v̂_tj + ε). A gradient computed with absolute error
    δ_j moves that step by at most lr·κ_tj·δ_j/(√v̂_tj + ε), where
    κ_tj = 1 + |m̂_tj|/(√v̂_tj + ε) (m̂ and √v̂ move by at most δ). The gradient's error is
    its own rounding, u·(G_j + tiny), plus the error e_{t−1} already in w times the
    gradient's Lipschitz bound L_j (``gradient_lipschitz``): G_j bounds the terms the gradient
    adds up (``gradient_magnitude``, plus λ·|w_j| when the decay is coupled) and the dtype's
    smallest normal ``tiny`` covers gradual underflow (λ·w of a subnormal w rounds to 0 in
    float32); PyTorch's lr·m̂ may itself underflow before the division (+ u·tiny).

    Where a weight's gradients have all been near 0, √v̂ + ε is near ε and rounding decides
    the step (Adam's first step is lr·g/(|g| + ε), about lr·sign g): the bound grows like
    lr/ε there, and like (lr·L/ε)^t when such steps feed back through the gradient (X with
    rows that cancel at W = 0: the float64 oracle's own 1e-17 residue becomes 1e-6 in two
    steps), as the error does. Returned relative to each iterate's scale max|w_t|, with one
    rounding of w per step.
    """
    beta1, beta2 = settings["betas"]
    X, y, lr = problem["X"], problem["y"], problem["lr"]
    gradient = oracle_gradient(X, y)
    lipschitz = gradient_lipschitz(X, decay if coupled else 0.0)
    tiny = torch.finfo(dtype).tiny
    m = v = error = 0.0  # error: the absolute error of w_t, in units of the dtype's epsilon
    conditions = [1.0]
    for t, (w, w_next) in enumerate(itertools.pairwise(expected), start=1):
        g = gradient(w) + (decay * w if coupled else 0.0)
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        denominator = np.sqrt(v / (1 - beta2**t)) + settings["eps"]
        kappa = 1.0 + np.abs(m / (1 - beta1**t)) / denominator
        size = gradient_magnitude(X, y, w) + (decay * np.abs(w) if coupled else 0.0)
        gradient_error = size + tiny + lipschitz * error  # (C, D) + (D,) per weight
        error += float(np.max((lr * kappa * gradient_error + tiny) / denominator))
        scale = max(float(np.abs(w_next).max()), torch.finfo(torch.float64).tiny)
        conditions.append(t + error / scale)
    return conditions


def check_final_iterates_differ(a, b, what: str, dtype, problem, condition: float) -> Comparison:
    """The last iterates of the trajectories ``a`` and ``b`` differ by more than rounding."""
    terms = trajectory_terms(problem)
    return check_differs(a[-1], b[-1], what, dtype=dtype, terms=terms, condition=condition)


def assert_trajectory_close(actual, expected, *, dtype, problem, conditions, form):
    terms = trajectory_terms(problem)
    for step, (w, w_ref, condition) in enumerate(zip(actual, expected, conditions, strict=True)):
        assert_close(
            w, w_ref, dtype=dtype, terms=terms, condition=condition, what=f"{form}, iterate {step}"
        )


def draw_adam_oracle(data, dtype, trajectory, *, coupled: bool):
    """A drawn problem and Adam settings, the float64 trajectory of ``trajectory`` (the Adam or
    AdamW oracle) on them with the problem's λ, and the conditions of its iterates."""
    problem = data.draw(classifier_problems(dtype), label="problem")
    settings = data.draw(adam_settings(), label="settings")
    lam = problem["weight_decay"]
    expected = trajectory(
        problem["W0"],
        oracle_gradient(problem["X"], problem["y"]),
        steps=STEPS,
        lr=problem["lr"],
        weight_decay=lam,
        **settings,
    )
    conditions = adam_conditions(problem, expected, settings, dtype, decay=lam, coupled=coupled)
    return problem, settings, expected, conditions


@pytest.mark.claim("WD-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("adam", [torch.optim.Adam], ids=["torch.optim.Adam"])
@given(data=st.data())
def test_wd2_adam_weight_decay_equals_l2_penalty(device, dtype, adam, data):
    """Adam(weight_decay=λ) on loss = Adam on loss + (λ/2)‖w‖², iterate by iterate.

    Adam's weight_decay is coupled: λ·w joins the gradient before the moment estimates, so it
    is exactly the gradient of (λ/2)‖w‖². Both torch trajectories are held to the float64
    Adam oracle (Kingma & Ba, Algorithm 1, amsgrad off) with lr, betas, ε and λ drawn.
    """
    problem, settings, expected, conditions = draw_adam_oracle(
        data, dtype, adam_trajectory, coupled=True
    )
    for penalty in (False, True):
        form = "Adam on loss + (λ/2)‖w‖²" if penalty else "Adam(weight_decay=λ)"
        actual = torch_trajectory(adam, problem, device, dtype, penalty=penalty, **settings)
        assert_trajectory_close(
            actual, expected, dtype=dtype, problem=problem, conditions=conditions, form=form
        )


@pytest.mark.claim("WD-3")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("adamw", [torch.optim.AdamW], ids=["torch.optim.AdamW"])
@given(data=st.data())
def test_wd3_adamw_is_decoupled_decay_then_adam_step(device, dtype, adamw, data):
    """AdamW(weight_decay=λ) steps w ← w·(1 − lr·λ), then the plain Adam step, iterate by iterate.

    Held to the float64 AdamW oracle (Loshchilov & Hutter, Algorithm 2, η_t = 1), with lr,
    betas, ε and λ drawn: the decay is scaled by lr only, never by Adam's denominator.
    """
    problem, settings, expected, conditions = draw_adam_oracle(
        data, dtype, adamw_trajectory, coupled=False
    )
    actual = torch_trajectory(adamw, problem, device, dtype, penalty=False, **settings)
    assert_trajectory_close(
        actual,
        expected,
        dtype=dtype,
        problem=problem,
        conditions=conditions,
        form="AdamW(weight_decay=λ)",
    )


WD3_COUNTEREXAMPLE = {
    "X": np.array([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.25]]),
    "y": np.array([0, 1, 2]),
    "W0": np.array([[0.5, -0.25], [0.125, 0.375], [-0.5, 0.25]]),
    "lr": 0.05,
    "weight_decay": 0.5,
}
WD3_SETTINGS = {"betas": (0.9, 0.999), "eps": 1e-8}


@pytest.mark.claim("WD-3")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("adamw", [torch.optim.AdamW], ids=["torch.optim.AdamW"])
def test_wd3_adamw_differs_from_adam_with_l2_penalty(device, dtype, adamw):
    """Refuted for AdamW: AdamW(weight_decay=λ) is not Adam on loss + (λ/2)‖w‖².

    Coupled L2 in Adam divides λ·w by √v̂ + ε along with the gradient; AdamW subtracts
    lr·λ·w outside it. On this problem (lr 0.05, λ 0.5, default betas and ε) the trajectories
    part by far more than rounding, each side matching its own oracle.
    """
    problem = {
        k: rounded(v, dtype) if k in ("X", "W0") else v for k, v in WD3_COUNTEREXAMPLE.items()
    }
    lam, gradient = problem["weight_decay"], oracle_gradient(problem["X"], problem["y"])
    common = {"steps": STEPS, "lr": problem["lr"], "weight_decay": lam, **WD3_SETTINGS}
    coupled, decoupled = (
        adam_trajectory(problem["W0"], gradient, **common),
        adamw_trajectory(problem["W0"], gradient, **common),
    )
    adam_l2 = torch_trajectory(
        torch.optim.Adam, problem, device, dtype, penalty=True, **WD3_SETTINGS
    )
    adamw_run = torch_trajectory(adamw, problem, device, dtype, penalty=False, **WD3_SETTINGS)
    final_condition = 1.0
    for actual, expected, coupled_decay, form in (
        (adam_l2, coupled, True, "Adam on loss + (λ/2)‖w‖²"),
        (adamw_run, decoupled, False, "AdamW(weight_decay=λ)"),
    ):
        conditions = adam_conditions(
            problem, expected, WD3_SETTINGS, dtype, decay=lam, coupled=coupled_decay
        )
        assert_trajectory_close(
            actual, expected, dtype=dtype, problem=problem, conditions=conditions, form=form
        )
        final_condition = max(final_condition, conditions[-1])
    what = "AdamW(weight_decay=λ) against Adam + (λ/2)‖w‖² on the counterexample"
    final = check_final_iterates_differ(
        adamw_run, adam_l2, what, dtype, problem, 2 * final_condition
    )
    recording.note(
        f"counterexample: after {STEPS} steps (lr 0.05, λ 0.5) max |AdamW − Adam+L2| = "
        f"{final.max_abs:.3g}"
    )


# WD-4: parameter groups and the factor convention of a hand-written penalty.


def no_decay_for_biases(model):
    """The usual recipe: one group for the weights, one with weight_decay=0 for the biases."""
    named = list(model.named_parameters())
    return [
        {"params": [p for name, p in named if not name.endswith("bias")]},
        {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0},
    ]


def weights_penalty(model, coefficient):
    """coefficient·Σw² over the parameters that are not biases, as users write it."""
    return coefficient * sum(
        (p * p).sum() for name, p in model.named_parameters() if not name.endswith("bias")
    )


def penalty_and_decay_trajectories(sgd, problem, device, dtype, *, penalty, decay, **settings):
    """The iterates of ``sgd`` on CE + penalty·Σw² (no weight decay), and on CE alone with
    weight_decay=decay on the weight group only (biases undecayed), each from a fresh model."""
    model = linear_model(problem, device, dtype)
    optimizer = sgd(model.parameters(), lr=problem["lr"], **settings)
    penalized = linear_trajectory(
        model, optimizer, problem, device, dtype, penalty=lambda m: weights_penalty(m, penalty)
    )
    model = linear_model(problem, device, dtype)
    optimizer = sgd(no_decay_for_biases(model), lr=problem["lr"], weight_decay=decay, **settings)
    return penalized, linear_trajectory(model, optimizer, problem, device, dtype)


def linear_trajectory(model, optimizer, problem, device, dtype, *, penalty=None):
    """Iterates θ = (W flattened, b) of ``optimizer`` on CE(model(X), y) [+ penalty(model)]."""
    X, y = to_device(problem["X"], device, dtype), to_device(problem["y"], device)

    def theta():
        return torch.cat([model.weight.detach().flatten(), model.bias.detach()]).clone()

    trajectory = [theta()]
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        if penalty is not None:
            loss = loss + penalty(model)
        loss.backward()
        optimizer.step()
        trajectory.append(theta())
    return trajectory


def linear_oracle(problem, weight_decay, **config):
    """The SGD oracle on θ = (W, b) with decay ``weight_decay`` on W only (0 on b)."""
    W0, b0 = problem["W0"], problem["b0"]
    decay = np.concatenate([np.full(W0.size, float(weight_decay)), np.zeros(b0.size)])
    return oracles.sgd_trajectory(
        np.concatenate([W0.ravel(), b0]),
        linear_gradient(problem["X"], problem["y"], W0.shape),
        steps=STEPS,
        lr=problem["lr"],
        weight_decay=decay,
        **config,
    )


def assert_linear_trajectory_close(actual, expected, *, dtype, problem, form):
    terms = trajectory_terms(problem)
    for step, (theta, theta_ref) in enumerate(zip(actual, expected, strict=True)):
        assert_close(
            theta,
            theta_ref,
            dtype=dtype,
            terms=terms,
            condition=STEPS,
            what=f"{form}, iterate {step}",
        )


GROUP_CONFIGS = {k: SGD_CONFIGS[k] for k in ("plain", "momentum")}


@pytest.mark.claim("WD-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("config", list(GROUP_CONFIGS), ids=list(GROUP_CONFIGS))
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd4_zero_decay_group_is_not_decayed(device, dtype, config, sgd, data):
    """SGD(groups, weight_decay=λ) with a weight_decay=0 bias group decays the weights only.

    The optimizer's default λ reaches the weight group; the bias group's own 0 wins, so the
    trajectory of (W, b) is SGD with λ·W, and nothing, added to the gradient of (W, b).
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    settings = GROUP_CONFIGS[config]
    model = linear_model(problem, device, dtype)
    optimizer = sgd(
        no_decay_for_biases(model),
        lr=problem["lr"],
        weight_decay=problem["weight_decay"],
        **settings,
    )
    actual = linear_trajectory(model, optimizer, problem, device, dtype)
    expected = linear_oracle(problem, problem["weight_decay"], **settings)
    assert_linear_trajectory_close(
        actual, expected, dtype=dtype, problem=problem, form="weight group decayed, biases not"
    )


@pytest.mark.claim("WD-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd4_half_penalty_on_weights_equals_decay_on_weight_group(device, dtype, sgd, data):
    """Penalty (α/2)Σw² over the non-bias parameters = weight_decay=α on the weight group only.

    With and without momentum (drawn).
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    config = data.draw(st.sampled_from(list(GROUP_CONFIGS)), label="config")
    settings, alpha = GROUP_CONFIGS[config], problem["weight_decay"]
    expected = linear_oracle(problem, alpha, **settings)
    penalized, decayed = penalty_and_decay_trajectories(
        sgd, problem, device, dtype, penalty=alpha / 2, decay=alpha, **settings
    )
    for actual, form in (
        (penalized, "(α/2)Σw² on weights"),
        (decayed, "weight_decay=α on weights"),
    ):
        assert_linear_trajectory_close(actual, expected, dtype=dtype, problem=problem, form=form)


@pytest.mark.claim("WD-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd4_full_penalty_equals_twice_the_decay(device, dtype, sgd, data):
    """The factor convention: a penalty αΣw² (no ½) matches weight_decay=2α, since ∇ = 2α·w."""
    problem = data.draw(linear_problems(dtype), label="problem")
    alpha = problem["weight_decay"]
    expected = linear_oracle(problem, 2 * alpha)
    penalized, decayed = penalty_and_decay_trajectories(
        sgd, problem, device, dtype, penalty=alpha, decay=2 * alpha
    )
    for actual, form in ((penalized, "αΣw² on weights"), (decayed, "weight_decay=2α on weights")):
        assert_linear_trajectory_close(actual, expected, dtype=dtype, problem=problem, form=form)


WD4_COUNTEREXAMPLE = {
    **WD3_COUNTEREXAMPLE,
    "b0": np.array([0.25, -0.125, 0.5]),
    "lr": 0.3,
    "weight_decay": 0.5,
}


@pytest.mark.claim("WD-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
def test_wd4_full_penalty_does_not_match_the_same_decay(device, dtype, sgd):
    """A penalty αΣw² is not weight_decay=α: it decays twice as fast (counterexample)."""
    problem = {
        k: rounded(v, dtype) if k in ("X", "W0", "b0") else v for k, v in WD4_COUNTEREXAMPLE.items()
    }
    alpha = problem["weight_decay"]
    penalized, decayed = penalty_and_decay_trajectories(
        sgd, problem, device, dtype, penalty=alpha, decay=alpha
    )
    assert_linear_trajectory_close(
        decayed, linear_oracle(problem, alpha), dtype=dtype, problem=problem, form="weight_decay=α"
    )
    what = "αΣw² against weight_decay=α on the counterexample"
    final = check_final_iterates_differ(penalized, decayed, what, dtype, problem, STEPS)
    recording.note(
        f"counterexample: αΣw² vs weight_decay=α (α 0.5, lr 0.3, {STEPS} steps): "
        f"max difference {final.max_abs:.3g}"
    )


# WD-5: L1 penalties, subgradient SGD and the proximal (soft-threshold) step.

L1_PENALTIES = {
    "abs-sum": lambda w: w.abs().sum(),
    "linalg.vector_norm": lambda w: torch.linalg.vector_norm(w, ord=1),
    "F.l1_loss": lambda w: F.l1_loss(w, torch.zeros_like(w), reduction="sum"),
}


@pytest.mark.claim("WD-5")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.bfloat16)
@pytest.mark.parametrize("l1_penalty", list(L1_PENALTIES.values()), ids=list(L1_PENALTIES))
@given(data=st.data())
def test_wd5_l1_penalty_gradient_is_beta_sign(device, dtype, l1_penalty, data):
    """∇ βΣ|w| = β·sign(w), with the subgradient 0 at w = 0 (torch's sign(0) = 0)."""
    n = data.draw(st.integers(1, 8), label="n")
    unit = st.floats(-1.0, 1.0, allow_subnormal=False) | st.just(0.0)
    w = rounded(data.draw(hnp.arrays(np.float64, (n,), elements=unit), label="w"), dtype)
    beta = data.draw(st.sampled_from([0.01, 0.1, 1.0, 3.0]), label="beta")
    value, grad = value_and_grad(
        lambda v: beta * l1_penalty(v), [to_device(w, device, dtype)], cotangent=1.0
    )
    assert_close(value, beta * np.abs(w).sum(), dtype=dtype, terms=n, what="βΣ|w|")
    assert_close(grad, beta * np.sign(w), dtype=dtype, what="∇ βΣ|w|")
    check(np.all(grad[w == 0] == 0), "subgradient at w = 0", grad[w == 0], 0.0)


L1_STEPS, L1_WINDOW = 48, 16


@st.composite
def lasso_problems(draw, dtype):
    """Separable lasso ½‖w − a‖² + β‖w‖₁, minimized by the soft threshold S_β(a).

    Coordinate j has a_j = ±r_j·β: r_j in [0.1, 0.9] puts its minimizer at exactly 0 (at
    least the first coordinate does), r_j in [1.5, 5] at a_j ∓ β. With unit curvature each
    step contracts by 1 − lr ≤ 0.4, so L1_STEPS steps converge past any dtype's rounding.
    """
    n = draw(st.integers(1, 6))
    beta = draw(st.sampled_from([0.05, 0.1, 0.3]))
    zero = draw(vs.masks((n,)))
    zero[0] = True
    inside = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.1, 0.9)))
    outside = draw(hnp.arrays(np.float64, (n,), elements=st.floats(1.5, 5.0)))
    sign = draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from([-1.0, 1.0])))
    return {
        "a": rounded(sign * beta * np.where(zero, inside, outside), dtype),
        "w0": rounded(draw(vs.unit_arrays((n,))), dtype),
        "zero": zero,
        "beta": beta,
        "lr": draw(st.sampled_from([0.6, 0.75, 0.9])),
    }


def lasso_run(problem, device, dtype, sgd, *, penalty=None, prox=None):
    """SGD iterates on ½‖w − a‖² [+ penalty(w)], each step followed by prox(w) if given."""
    a = to_device(problem["a"], device, dtype)
    w = to_device(problem["w0"], device, dtype, requires_grad=True)
    optimizer = sgd([w], lr=problem["lr"])
    trajectory = [w.detach().clone()]
    for _ in range(L1_STEPS):
        optimizer.zero_grad()
        loss = 0.5 * ((w - a) ** 2).sum()
        if penalty is not None:
            loss = loss + penalty(w)
        loss.backward()
        optimizer.step()
        if prox is not None:
            with torch.no_grad():
                w.copy_(prox(w))
        trajectory.append(w.detach().clone())
    return torch.stack(trajectory).to("cpu", torch.float64).numpy()


@pytest.mark.claim("WD-5")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd5_subgradient_sgd_oscillates_instead_of_reaching_zero(device, dtype, sgd, data):
    """Refuted: plain SGD on loss + βΣ|w| does not make weights exactly zero.

    Where the minimizer is exactly 0 (|a_j| < β), each step adds ∓lr·β, so w_j keeps jumping
    around zero: over the last L1_WINDOW iterates it stays within one step of zero
    (|w_j| ≤ lr·(β + |a_j|)), is nonzero at least every other iterate (at w = 0 the
    subgradient is 0 and the loss gradient −a_j ≠ 0 moves it off), and never settles. It need
    not take both signs: a = −0.04, β = 0.05, lr = 0.75 from w = 0 cycles 0, −0.03, 0, −0.03
    in float32 (the step back from −0.03 lands on 0 exactly), found by hypothesis.
    """
    problem = data.draw(lasso_problems(dtype), label="problem")
    beta, lr = problem["beta"], problem["lr"]
    trajectory = lasso_run(problem, device, dtype, sgd, penalty=lambda w: beta * w.abs().sum())[
        -L1_WINDOW:
    ]
    for j in np.flatnonzero(problem["zero"]):
        w_j, step = trajectory[:, j], lr * (beta + abs(problem["a"][j]))
        tol = tolerance(dtype, scale=step)
        band = step + tol.atol + tol.rtol * step
        check(np.all(np.abs(w_j) <= band), f"w[{j}]", w_j, f"within ±{band:.3g} of 0")
        check(np.count_nonzero(w_j) >= L1_WINDOW // 2, f"w[{j}]", w_j, "not settled at 0")
        check(np.ptp(w_j) > 0, f"w[{j}]", w_j, "still moving")


@pytest.mark.claim("WD-5")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
def test_wd5_one_sided_cycle_regression_case(device, dtype, sgd):
    """The fixed case hypothesis found: w cycles between 0 and −0.03, never settling at 0."""
    problem = {
        "a": rounded(np.array([-0.04]), dtype),
        "w0": np.array([0.0]),
        "zero": np.array([True]),
        "beta": 0.05,
        "lr": 0.75,
    }
    penalty = lambda w: problem["beta"] * w.abs().sum()  # noqa: E731
    w = lasso_run(problem, device, dtype, sgd, penalty=penalty)[-L1_WINDOW:, 0]
    cycle = np.count_nonzero(w) == L1_WINDOW // 2 and (w <= 0).all() and np.ptp(w) > 0
    check(cycle, "last weights", w, f"a cycle of {L1_WINDOW // 2} nonzero values ≤ 0")
    recording.note("L1 by subgradient SGD, a = −0.04, β = 0.05, lr = 0.75 (f32): w cycles 0, −0.03")


SOFT_THRESHOLDS = {
    "F.softshrink": lambda w, t: F.softshrink(w, t),
    "sign·max(|w| − t, 0)": lambda w, t: torch.sign(w) * torch.clamp(w.abs() - t, min=0.0),
}


@pytest.mark.claim("WD-5")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize(
    "soft_threshold", list(SOFT_THRESHOLDS.values()), ids=list(SOFT_THRESHOLDS)
)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_wd5_proximal_step_gives_exact_zeros(device, dtype, soft_threshold, sgd, data):
    """An SGD step on the loss, then w ← sign(w)·max(|w| − lr·β, 0), reaches exact zeros.

    Proximal gradient (ISTA) converges to the lasso minimizer S_β(a): exactly 0.0 where
    |a_j| < β (bitwise), a_j − β·sign(a_j) elsewhere (rounding error amplified by the
    contraction 1/lr at most).
    """
    problem = data.draw(lasso_problems(dtype), label="problem")
    beta, lr, a = problem["beta"], problem["lr"], problem["a"]
    final = lasso_run(problem, device, dtype, sgd, prox=lambda w: soft_threshold(w, lr * beta))[-1]
    zero = problem["zero"]
    check(np.all(final[zero] == 0.0), "weights where |a| < β", final[zero], "exactly 0.0")
    expected = np.where(zero, 0.0, a - beta * np.sign(a))
    assert_close(final, expected, dtype=dtype, condition=1 / lr, what="proximal SGD limit")


@pytest.mark.claim("WD-5")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
def test_wd5_counterexample(device, dtype, sgd):
    """Regression case: a = 0.05, β = 0.1, lr = 0.5, w0 = 0.7: subgradient SGD vs proximal."""
    problem = {"a": np.array([0.05]), "w0": np.array([0.7]), "beta": 0.1, "lr": 0.5}
    sub = lasso_run(problem, device, dtype, sgd, penalty=lambda w: 0.1 * w.abs().sum())[:, 0]
    prox = lasso_run(problem, device, dtype, sgd, prox=lambda w: F.softshrink(w, 0.05))[:, 0]
    window, step = sub[-L1_WINDOW:], 0.5 * (0.1 + 0.05)
    tol = tolerance(dtype, scale=step)
    check(
        np.all(window != 0.0),
        "subgradient SGD's last weights",
        window,
        "nonzero throughout",
    )
    band = step + tol.atol + tol.rtol * step
    check(
        np.all(np.abs(window) <= band),
        "subgradient SGD's last weights",
        window,
        f"within ±{band:.3g}",
    )
    check(
        prox[-1] == 0.0,
        "soft-threshold SGD's last weights",
        prox[-L1_WINDOW:],
        "exactly 0.0 at the end",
    )
    recording.note(
        f"counterexample: SGD on ½(w − 0.05)² + 0.1|w| (lr 0.5, w0 0.7) keeps jumping across 0 "
        f"between {window.min():.3g} and {window.max():.3g} (last: {sub[-1]:.3g} after "
        f"{L1_STEPS} steps); the soft-threshold step gives exactly 0.0"
    )
