"""Entropy: ENT-1.

- ENT-1: H(p) = 0 for one-hot, log K for uniform, H ≤ log K, and H((1 − s)·p + s·u) is
  nondecreasing in s ∈ [0, 1] (u uniform): mixing toward uniform never lowers the entropy.

References are the float64 oracle ``verify.oracles.entropy`` (H of distributions and of
softmax(z), and its VJP), never the torch functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Categorical

from specs.distribution_draws import (
    F64_F32,
    batch_shape,
    class_targets,
    cotangents,
    logits,
    soft_targets,
)
from verify import recording
from verify import strategies as vs
from verify.autodiff import call_or_skip, value_and_grad
from verify.devices import rounded, to_device, to_numpy
from verify.oracles import entropy as ent
from verify.tolerances import assert_close, logsumexp_condition

# --- ENT-1: entropy ---------------------------------------------------------------------------


def categorical_entropy(p):
    """H(p) as ``torch.distributions.Categorical(probs=p).entropy()`` (classes along dim 1)."""
    return Categorical(probs=p, validate_args=False).entropy()


def entr_entropy(p):
    """H(p) as Σ ``torch.special.entr(p)`` (−p log p, 0 at p = 0)."""
    return torch.special.entr(p).sum(dim=1)


def categorical_logit_entropy(z):
    """H(softmax(z)) as ``Categorical(logits=z).entropy()``."""
    return Categorical(logits=z, validate_args=False).entropy()


def softmax_logit_entropy(z):
    """H(softmax(z)) as −Σ softmax(z)·log_softmax(z), the form entropy bonuses are written in."""
    return -(F.softmax(z, dim=1) * F.log_softmax(z, dim=1)).sum(dim=1)


ENTROPY_OF_PROBABILITIES = pytest.mark.parametrize(
    "entropy", [categorical_entropy, entr_entropy], ids=["Categorical(probs)", "special.entr"]
)
ENTROPY_OF_LOGITS = pytest.mark.parametrize(
    "entropy",
    [categorical_logit_entropy, softmax_logit_entropy],
    ids=["Categorical(logits)", "softmax·log_softmax"],
)


@pytest.mark.claim("ENT-1")
@ENTROPY_OF_PROBABILITIES
@given(data=st.data())
def test_ent1_one_hot_has_zero_entropy_and_uniform_has_log_k(device, dtype, entropy, data):
    """H(one-hot) = 0 and H(uniform over K) = log K, for K from 1 to 64.

    Measured: ``Categorical(probs=one-hot).entropy()`` is not exactly 0 but −log(1 − ε) ≈ ε
    of the dtype (2.2e-16 in float64, 7.8e-3 in bfloat16), from the clamp of the
    probabilities to [ε, 1 − ε] before the log; that is within the rounding bound (entropies
    are in nats, on the scale of 1). ``special.entr`` gives exactly 0.
    """
    n, k = data.draw(st.integers(1, 4), label="n"), data.draw(st.integers(1, 64), label="K")
    hot = data.draw(class_targets((n,), k), label="hot")
    cases = {
        "one-hot": (np.eye(k)[hot], np.zeros(n)),
        "uniform": (np.full((n, k), 1.0 / k), np.full(n, math.log(k))),
    }
    for name, (p, expected) in cases.items():
        value = call_or_skip(entropy, to_device(p, device, dtype))
        assert_close(value, expected, dtype=dtype, terms=k, scale=1.0, what=f"H({name})")
    if to_numpy(call_or_skip(entropy, to_device(np.eye(k)[hot], device, dtype))).any():
        recording.note("Categorical(probs=one-hot).entropy() is ε of the dtype, not exactly 0")


@pytest.mark.claim("ENT-1")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.bfloat16)
@ENTROPY_OF_PROBABILITIES
@given(data=st.data())
def test_ent1_entropy_lies_between_zero_and_log_k(device, dtype, entropy, data):
    """0 ≤ H(p) ≤ log K for every distribution p over K classes (zeros allowed), and H matches
    the oracle. The parts of H below 0 and above log K are held to the rounding bound."""
    shape = batch_shape(data, max_c=16)
    p = data.draw(soft_targets(shape), label="p")
    value = to_numpy(call_or_skip(entropy, to_device(p, device, dtype)))
    kw = {"dtype": dtype, "terms": shape[1], "scale": 1.0}
    assert_close(value, ent.entropy(rounded(p, dtype), axis=1), **kw, what="H(p)")
    zeros = np.zeros(shape[0])
    assert_close(np.minimum(value, 0.0), zeros, **kw, what="part of H(p) below 0")
    excess = np.maximum(value - math.log(shape[1]), 0.0)
    assert_close(excess, zeros, **kw, what="part of H(p) above log K")


@pytest.mark.claim("ENT-1")
@F64_F32
@ENTROPY_OF_PROBABILITIES
@given(data=st.data())
def test_ent1_mixing_toward_uniform_increases_entropy(device, dtype, entropy, data):
    """Entropy grows with uncertainty: s ↦ H((1 − s)·p + s·u) is nondecreasing on [0, 1].

    H is concave and maximal at the uniform u, so along the segment from any p to u it never
    decreases (strictly increases unless p = u); from a one-hot p it rises from 0 to log K.
    Each H is held to the oracle, and each step H(s_{i+1}) − H(s_i), a sum of 2K terms, may be
    negative by no more than the rounding bound.
    """
    k = data.draw(st.integers(2, 8), label="K")
    if data.draw(st.booleans(), label="one-hot"):
        p = np.eye(k)[data.draw(st.integers(0, k - 1), label="hot")]
    else:
        p = data.draw(soft_targets((1, k)), label="p")[0]
    s = np.unique([0.0, 1.0, *data.draw(st.lists(st.floats(0.0, 1.0), max_size=6), label="s")])
    mixtures = (1.0 - s)[:, None] * p + s[:, None] / k
    value = to_numpy(call_or_skip(entropy, to_device(mixtures, device, dtype)))
    kw = {"dtype": dtype, "scale": 1.0}
    expected = ent.entropy(rounded(mixtures, dtype), axis=1)
    assert_close(value, expected, terms=k, **kw, what="H along the mixture")
    decrease = np.minimum(np.diff(value), 0.0)
    assert_close(decrease, np.zeros(len(s) - 1), terms=2 * k, **kw, what="decrease of H in s")


@pytest.mark.claim("ENT-1")
@pytest.mark.dtypes(torch.float64, torch.float32, torch.float16)
@ENTROPY_OF_LOGITS
@given(data=st.data())
def test_ent1_entropy_of_logits_values_and_gradients(device, dtype, entropy, data):
    """H(softmax(z)) and its gradient −p ⊙ (log p + H) against the oracle, logits up to the
    dtype's logit bound (where softmax underflows to 0 and 0·log 0 must be 0).

    ``Categorical(logits=z)`` stores the normalized logits z − logsumexp(z) in the dtype, an
    intermediate rounded to it (float16 [200, 200] gives 0.75 for log 2): the bound is the
    pointwise one.
    """
    shape = batch_shape(data)
    z = data.draw(logits(shape, vs.logit_bound(dtype)), label="z")
    cotangent = rounded(data.draw(cotangents((shape[0],)), label="g"), dtype)
    z_r = rounded(z, dtype)
    value, grad = value_and_grad(entropy, [to_device(z, device, dtype)], cotangent=cotangent)
    kw = {"dtype": dtype, "terms": z.size, "condition": logsumexp_condition(z_r), "pointwise": True}
    assert_close(value, ent.softmax_entropy(z_r, axis=1), **kw, scale=1.0, what="H(softmax(z))")
    assert_close(
        grad,
        ent.softmax_entropy_vjp(z_r, cotangent, axis=1),
        **kw,
        scale=float(np.max(np.abs(cotangent))),
        what="∂H/∂z",
    )
