"""The small linear classification problems the WD-*, OBJ-* and AG-* specs train on, and the
float64 oracle gradients of their mean cross-entropy."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from verify import oracles
from verify import strategies as vs
from verify.devices import rounded, to_device


@st.composite
def classifier_problems(draw, dtype):
    """A small linear softmax classification problem and SGD hyperparameters."""
    n, c, d = draw(st.integers(1, 6)), draw(st.integers(2, 4)), draw(st.integers(1, 4))
    return {
        "X": rounded(draw(vs.unit_arrays((n, d))) * 3.0, dtype),
        "y": draw(vs.class_indices((n,), c)),
        "W0": rounded(draw(vs.unit_arrays((c, d))), dtype),
        "lr": draw(st.sampled_from([1e-3, 0.05, 0.3])),
        "weight_decay": draw(st.sampled_from([1e-4, 0.01, 0.5])),
    }


def oracle_gradient(X, y):
    """∇_W of mean cross-entropy of X·Wᵀ, from the oracle's gradient with respect to the scores."""

    def gradient(W):
        return oracles.cross_entropy_vjp(X @ W.T, y).T @ X

    return gradient


def gradient_magnitude(X, y, W):
    """Per weight, Σ_i |p_ic − [y_i = c]|·|x_id| / N: the size of the terms ∇_W CE adds up."""
    residual = np.abs(oracles.softmax(X @ W.T, axis=1) - np.eye(W.shape[0])[y])
    return residual.T @ np.abs(X) / max(len(y), 1)


@st.composite
def linear_problems(draw, dtype):
    """A ``classifier_problems`` problem with a bias b0, for an ``nn.Linear`` layer."""
    problem = draw(classifier_problems(dtype))
    c = problem["W0"].shape[0]
    problem["b0"] = rounded(draw(vs.unit_arrays((c,))), dtype)
    return problem


def linear_gradient(X, y, shape):
    """∇ of mean cross-entropy of X·Wᵀ + b with respect to θ = (W flattened, b)."""
    c, d = shape

    def gradient(theta):
        W, b = theta[: c * d].reshape(c, d), theta[c * d :]
        g = oracles.cross_entropy_vjp(X @ W.T + b, y)
        return np.concatenate([(g.T @ X).ravel(), g.sum(axis=0)])

    return gradient


def linear_model(problem, device, dtype):
    """``nn.Linear(D, C)`` holding W0 and b0."""
    c, d = problem["W0"].shape
    model = torch.nn.Linear(d, c, device=device, dtype=dtype)
    with torch.no_grad():
        model.weight.copy_(to_device(problem["W0"], device, dtype))
        model.bias.copy_(to_device(problem["b0"], device, dtype))
    return model
