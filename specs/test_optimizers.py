"""Regularization and optimizers: WD-1 (headline), SGD weight decay is an L2 penalty.

``SGD(weight_decay=λ)`` adds λ·w to the gradient before momentum, which is exactly the gradient
of the penalty (λ/2)‖w‖². So over any number of steps, with or without momentum, dampening
and Nesterov, SGD with weight decay on ``loss`` follows the same trajectory as plain SGD on
``loss + (λ/2)‖w‖²``; for plain SGD each step is w ← (1 − lr·λ)·w − lr·∇loss(w).

The problem is a linear softmax classifier (weights W of shape (C, D), cross-entropy on
X·Wᵀ). Both torch trajectories are held to a float64 NumPy trajectory of the documented SGD
algorithm (``verify.oracles.sgd_trajectory``) driven by the oracle's cross-entropy gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import oracles
from verify.devices import rounded, to_device
from verify.tolerances import assert_close

STEPS = 5
SGD_CONFIGS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.9, "dampening": 0.5},
    "nesterov": {"momentum": 0.9, "nesterov": True},
}


@st.composite
def classifier_problems(draw, dtype):
    """A small linear softmax classification problem and SGD hyperparameters."""
    n, c, d = draw(st.integers(1, 6)), draw(st.integers(2, 4)), draw(st.integers(1, 4))
    unit = st.floats(-1.0, 1.0, allow_subnormal=False)
    return {
        "X": rounded(draw(hnp.arrays(np.float64, (n, d), elements=unit)) * 3.0, dtype),
        "y": draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))),
        "W0": rounded(draw(hnp.arrays(np.float64, (c, d), elements=unit)), dtype),
        "lr": draw(st.sampled_from([1e-3, 0.05, 0.3])),
        "weight_decay": draw(st.sampled_from([1e-4, 0.01, 0.5])),
    }


def oracle_gradient(X, y):
    """∇_W of mean cross-entropy of X·Wᵀ, from the oracle's gradient with respect to the scores."""

    def gradient(W):
        return oracles.cross_entropy_vjp(X @ W.T, y).T @ X

    return gradient


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
