"""Autograd and training-loop semantics: AG-1 to AG-4.

- AG-1: ``backward()`` accumulates into ``.grad``: a second pass without zeroing doubles it.
- AG-2: ``backward()`` leaves the parameters alone (bitwise); ``optimizer.step()`` moves them.
- AG-3: ``optimizer.zero_grad()`` sets ``.grad`` to None (``set_to_none=True`` by default);
  with ``set_to_none=False`` it fills them with zeros.
- AG-4: gradient accumulation. Micro-batches with equal counts of non-ignored targets, each
  with a mean-reduced loss divided by k, reproduce the full-batch gradient; with unequal
  counts (padding with ``ignore_index``, sequences of different lengths) they do not, and the
  correct form sums the per-token losses and divides by the global count.

The model is a linear layer: a classifier over X (AG-1 to AG-3, the problems of
``specs/linear_problems.py``) or a token-classification head over padded sequences (AG-4).
Gradients are held to the float64 cross-entropy oracle; the loops and the backward pass are
arguments, so that ``tests/test_planted_training_loop.py`` can run the same specs on planted bugs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from specs.linear_problems import gradient_magnitude, linear_gradient, linear_model, linear_problems
from verify import recording
from verify import strategies as vs
from verify.autodiff import call_or_skip
from verify.checks import check, check_differs
from verify.devices import rounded, to_device, to_numpy
from verify.strategies import DEFAULT_IGNORE_INDEX
from verify.tolerances import assert_close, logsumexp_condition

BACKWARDS = {"Tensor.backward": lambda loss, inputs: loss.backward(inputs=inputs)}
IGNORE = DEFAULT_IGNORE_INDEX


def linear_loss(model, problem, device, dtype, cross_entropy):
    """Mean cross-entropy of the linear layer on the problem's (X, y)."""
    x, y = to_device(problem["X"], device, dtype), to_device(problem["y"], device)
    return call_or_skip(cross_entropy, model(x), y)


def flat_grad(model):
    """(W.grad flattened, b.grad) as one float64 NumPy vector."""
    return np.concatenate([to_numpy(model.weight.grad).ravel(), to_numpy(model.bias.grad)])


def flat_params(model):
    return np.concatenate([to_numpy(model.weight).ravel(), to_numpy(model.bias)])


def theta0(problem):
    return np.concatenate([problem["W0"].ravel(), problem["b0"]])


def gradient_tolerances(problem, dtype):
    """Tolerance description of ∇(W, b) of the mean CE of X·Wᵀ + b.

    The logits are a matmul's output rounded to the dtype before the loss sees them (so
    intermediates in the dtype itself: ``pointwise``); the scale is the size of the terms the
    gradient adds up (at least the dtype's smallest normal, for gradual underflow).
    """
    X, y, W0, b0 = problem["X"], problem["y"], problem["W0"], problem["b0"]
    kept = y != IGNORE
    # (X, 1)·(W, b)ᵀ = X·Wᵀ + b; the mean runs over the kept (non-ignored) targets.
    magnitude = gradient_magnitude(
        np.hstack([X, np.ones((len(y), 1))])[kept], y[kept], np.hstack([W0, b0[:, None]])
    )
    return {
        "dtype": dtype,
        "terms": max(X.size * W0.shape[0], 1),
        "condition": logsumexp_condition(X @ W0.T + b0),
        "scale": max(float(magnitude.max()), torch.finfo(dtype).tiny),
        "pointwise": True,
    }


def oracle_linear_gradient(problem):
    return linear_gradient(problem["X"], problem["y"], problem["W0"].shape)(theta0(problem))


def bitwise_or_close(actual, expected, *, device, what, **tolerances):
    """Bitwise equality on the CPU (deterministic kernels), the rounding bound elsewhere.

    CUDA kernels may reduce in a different order from one call to the next (atomics), so a
    gradient computed twice need not repeat its bits there.
    """
    if device == "cpu":
        check(torch.equal(actual, expected), what, actual, f"bitwise {expected}")
    else:
        assert_close(actual, expected, what=what, **tolerances)


@pytest.mark.claim("AG-1")
@pytest.mark.parametrize("backward", list(BACKWARDS.values()), ids=list(BACKWARDS))
@pytest.mark.implementations("cross_entropy", {"functional": F.cross_entropy})
@given(data=st.data())
def test_ag1_two_backward_passes_give_twice_the_gradient(
    device, dtype, backward, cross_entropy, data
):
    """Two backward passes without zeroing leave 2·g in ``.grad``, g the one-pass gradient.

    The second pass adds the same g to ``.grad`` in place: g + g = 2·g exactly in binary
    floating point (the exponent goes up by one; no overflow at these sizes), and on the
    CPU the same computation gives the same bits, so the check is bitwise there. The
    one-pass gradient itself is held to the oracle.
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    model = linear_model(problem, device, dtype)
    params = list(model.parameters())
    backward(linear_loss(model, problem, device, dtype, cross_entropy), params)
    once = [p.grad.clone() for p in params]
    backward(linear_loss(model, problem, device, dtype, cross_entropy), params)
    tolerances = gradient_tolerances(problem, dtype)
    expected = oracle_linear_gradient(problem)
    assert_close(
        np.concatenate([to_numpy(g).ravel() for g in once]),
        expected,
        what="gradient after one pass",
        **tolerances,
    )
    for p, g in zip(params, once, strict=True):
        bitwise_or_close(
            p.grad, 2 * g, device=device, what="gradient after two passes", **tolerances
        )
    assert_close(flat_grad(model), 2 * expected, what="2 × oracle gradient", **tolerances)


@pytest.mark.claim("AG-2")
@pytest.mark.parametrize("backward", list(BACKWARDS.values()), ids=list(BACKWARDS))
@pytest.mark.parametrize("sgd", [torch.optim.SGD], ids=["torch.optim.SGD"])
@given(data=st.data())
def test_ag2_backward_leaves_parameters_step_moves_them(device, dtype, backward, sgd, data):
    """``backward()`` leaves every parameter bitwise unchanged; ``step()`` then applies w − lr·g.

    Every weight whose step lr·|g| exceeds the rounding bound plus a spacing of the dtype at w
    must have changed.
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    model = linear_model(problem, device, dtype)
    params = list(model.parameters())
    optimizer = sgd(params, lr=problem["lr"])
    before = [p.detach().clone() for p in params]
    backward(linear_loss(model, problem, device, dtype, F.cross_entropy), params)
    for p, b in zip(params, before, strict=True):
        check(torch.equal(p.detach(), b), "parameter after backward()", p.detach(), b)
    optimizer.step()
    start = flat_params_of(before)
    expected_step = problem["lr"] * oracle_linear_gradient(problem)
    tolerances = gradient_tolerances(problem, dtype)
    tolerances["scale"] = max(float(np.abs(start).max()), problem["lr"] * tolerances["scale"])
    after = flat_params(model)
    comparison = assert_close(
        after, start - expected_step, what="w − lr·g after step()", **tolerances
    )
    allowed = comparison.tolerance.atol + comparison.tolerance.rtol * np.abs(start - expected_step)
    must_move = np.abs(expected_step) > allowed + spacing(start, dtype)
    stuck = np.flatnonzero(must_move & (after == start))
    check(stuck.size == 0, "weights step() left unchanged", stuck, "none")


def flat_params_of(tensors):
    return np.concatenate([to_numpy(t).ravel() for t in tensors])


def spacing(values, dtype):
    """The distance from each |v| (a value of ``dtype``) to the next larger value of ``dtype``."""
    magnitude = torch.from_numpy(np.abs(values)).to(dtype)
    above = torch.nextafter(magnitude, torch.full_like(magnitude, np.inf))
    return to_numpy(above) - to_numpy(magnitude)


def two_groups(model):
    """Weights and biases in separate parameter groups (as with per-group weight decay)."""
    return [{"params": [model.weight]}, {"params": [model.bias]}]


OPTIMIZERS = {"torch.optim.SGD": torch.optim.SGD, "torch.optim.Adam": torch.optim.Adam}


@pytest.mark.claim("AG-3")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("optimizer_cls", list(OPTIMIZERS.values()), ids=list(OPTIMIZERS))
@given(data=st.data())
def test_ag3_zero_grad_sets_gradients_to_none(device, dtype, optimizer_cls, data):
    """``optimizer.zero_grad()`` sets every ``.grad`` (all groups) to None; the next pass is fresh.

    After it, one backward pass leaves exactly the one-pass gradient (the oracle's), with
    nothing left over from before.
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    model = linear_model(problem, device, dtype)
    optimizer = optimizer_cls(two_groups(model), lr=problem["lr"])
    loss = F.cross_entropy
    linear_loss(model, problem, device, dtype, loss).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    check(not missing, "parameters without .grad after backward", missing, "none")
    optimizer.zero_grad()
    left = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    check(not left, "gradients left by zero_grad()", left, "none")
    linear_loss(model, problem, device, dtype, loss).backward()
    assert_close(
        flat_grad(model),
        oracle_linear_gradient(problem),
        what="gradient after zero_grad() and one pass",
        **gradient_tolerances(problem, dtype),
    )


@pytest.mark.claim("AG-3")
@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("optimizer_cls", list(OPTIMIZERS.values()), ids=list(OPTIMIZERS))
@given(data=st.data())
def test_ag3_zero_grad_without_set_to_none_fills_zeros(device, dtype, optimizer_cls, data):
    """``zero_grad(set_to_none=False)`` fills each ``.grad`` with zeros (shape, dtype, device kept).

    The next pass then adds its gradient to 0: 0 + g = g exactly, so ``.grad`` equals the
    one-pass gradient bitwise on the CPU.
    """
    problem = data.draw(linear_problems(dtype), label="problem")
    model = linear_model(problem, device, dtype)
    optimizer = optimizer_cls(two_groups(model), lr=problem["lr"])
    loss = F.cross_entropy
    linear_loss(model, problem, device, dtype, loss).backward()
    once = [p.grad.clone() for p in model.parameters()]
    optimizer.zero_grad(set_to_none=False)
    for name, p in model.named_parameters():
        check(p.grad is not None, f"{name}.grad after zero_grad(set_to_none=False)", None, "zeros")
        check(torch.equal(p.grad, torch.zeros_like(p)), f"{name}.grad", p.grad, "zeros")
    linear_loss(model, problem, device, dtype, loss).backward()
    tolerances = gradient_tolerances(problem, dtype)
    for p, g in zip(model.parameters(), once, strict=True):
        bitwise_or_close(
            p.grad, g, device=device, what="gradient after zeros and one pass", **tolerances
        )


# AG-4: gradient accumulation over micro-batches of padded sequences.


def token_loss(model, x, y, cross_entropy, **params):
    """Cross-entropy of a token-classification head: (B, T, D) features, (B, T) targets.
    ``ignore_index`` is passed explicitly: the padding relies on it (an implementation that
    declines it is then unsupported here, not wrong)."""
    return cross_entropy(model(x).flatten(0, 1), y.flatten(), ignore_index=IGNORE, **params)


def mean_over_k(model, optimizer, micro_batches, cross_entropy):
    """The documented recipe: zero once, backward(mean loss / k) per micro-batch, step once."""
    optimizer.zero_grad()
    k = len(micro_batches)
    for x, y in micro_batches:
        (token_loss(model, x, y, cross_entropy) / k).backward()
    optimizer.step()


def sum_over_global_count(model, optimizer, micro_batches, cross_entropy):
    """The fix: zero once, backward(summed token losses / global token count), step once."""
    optimizer.zero_grad()
    count = sum(int((y != IGNORE).sum()) for _, y in micro_batches)
    for x, y in micro_batches:
        (token_loss(model, x, y, cross_entropy, reduction="sum") / count).backward()
    optimizer.step()


@st.composite
def token_batches(draw, dtype, *, equal_counts):
    """k ≥ 2 micro-batches of m padded sequences: features (k·m, T, D), targets (k·m, T).

    Padding positions hold ``ignore_index`` (−100). With ``equal_counts`` every micro-batch
    has the same number of real tokens (placed anywhere: sequences of different lengths);
    otherwise each micro-batch has its own count, at least one, and not all counts equal.
    """
    k, m, t = draw(st.integers(2, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    d, c = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    slots = m * t
    if equal_counts:
        counts = [draw(st.integers(1, slots))] * k
    else:
        counts = draw(
            st.lists(st.integers(1, slots), min_size=k, max_size=k).filter(
                lambda n: len(set(n)) > 1
            )
        )
    real = np.zeros((k, slots), dtype=bool)
    for j, n in enumerate(counts):
        real[j, draw(st.permutations(range(slots)))[:n]] = True
    labels = draw(vs.class_indices((k * m, t), c))
    return {
        "X": rounded(draw(vs.unit_arrays((k * m, t, d))) * 3.0, dtype),
        "y": np.where(real.reshape(k * m, t), labels, IGNORE),
        "W0": rounded(draw(vs.unit_arrays((c, d))), dtype),
        "b0": rounded(draw(vs.unit_arrays((c,))), dtype),
        "k": k,
        "lr": draw(st.sampled_from([0.05, 0.3])),
    }


def tokens(batch):
    """The batch as a flat token problem (X (k·m·T, D), y (k·m·T,)) for the linear oracles."""
    return {**batch, "X": batch["X"].reshape(-1, batch["X"].shape[-1]), "y": batch["y"].ravel()}


def split(batch, device, dtype):
    """The k micro-batches of (features, targets), on the device."""
    chunks = zip(np.split(batch["X"], batch["k"]), np.split(batch["y"], batch["k"]), strict=True)
    return [(to_device(x, device, dtype), to_device(y, device)) for x, y in chunks]


def accumulated(accumulate, batch, device, dtype, cross_entropy):
    """Run the loop ``accumulate`` with SGD; the accumulated gradient and the stepped params."""
    model = linear_model(batch, device, dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=batch["lr"])
    accumulate(model, optimizer, split(batch, device, dtype), cross_entropy)
    return flat_grad(model), flat_params(model)


def full_batch_torch_gradient(batch, device, dtype, cross_entropy):
    model = linear_model(batch, device, dtype)
    x, y = to_device(batch["X"], device, dtype), to_device(batch["y"], device)
    token_loss(model, x, y, cross_entropy).backward()
    return flat_grad(model)


def mean_of_micro_batch_means(batch):
    """(1/k)·Σ_j ∇ mean_j: what per-micro-batch means divided by k add up to."""
    parts = [
        oracle_linear_gradient(tokens({**batch, "X": x, "y": y}))
        for x, y in zip(
            np.split(batch["X"], batch["k"]), np.split(batch["y"], batch["k"]), strict=True
        )
    ]
    return sum(parts) / batch["k"]


def assert_mean_over_k_is_mean_of_means(accumulate, batch, device, dtype, cross_entropy):
    """The accumulated gradient (returned) against (1/k)·Σ_j ∇mean_j."""
    grad, _ = accumulated(accumulate, batch, device, dtype, cross_entropy)
    assert_close(
        grad,
        mean_of_micro_batch_means(batch),
        what="mean/k accumulation against the mean of micro-batch means",
        **gradient_tolerances(tokens(batch), dtype),
    )
    return grad


def assert_accumulation_reproduces_full_batch(accumulate, batch, device, dtype, cross_entropy):
    """The accumulated gradient, the torch full-batch one and the oracle's agree; so does step."""
    flat = tokens(batch)
    expected = oracle_linear_gradient(flat)
    tolerances = gradient_tolerances(flat, dtype)
    grad, params = accumulated(accumulate, batch, device, dtype, cross_entropy)
    full = full_batch_torch_gradient(batch, device, dtype, cross_entropy)
    assert_close(full, expected, what="full-batch gradient", **tolerances)
    assert_close(grad, expected, what="accumulated gradient", **tolerances)
    start = theta0(batch)
    step_tolerances = {**tolerances, "scale": max(float(np.abs(start).max()), tolerances["scale"])}
    assert_close(
        params, start - batch["lr"] * expected, what="params after step()", **step_tolerances
    )


@pytest.mark.claim("AG-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("accumulate", [mean_over_k], ids=["mean/k"])
@given(data=st.data())
def test_ag4_equal_counts_mean_over_k_is_full_batch_gradient(
    device, dtype, accumulate, cross_entropy, data
):
    """k micro-batches with equal counts of real tokens, each mean CE / k: the full-batch gradient.

    Inside the domain: Σ_j (1/k)(1/n)Σ_{i∈j} ∇ℓ_i = (1/(k·n))Σ_i ∇ℓ_i when every micro-batch
    counts n non-ignored targets (padding may differ). One SGD step then lands where the
    full-batch step does.
    """
    batch = data.draw(token_batches(dtype, equal_counts=True), label="batch")
    assert_accumulation_reproduces_full_batch(accumulate, batch, device, dtype, cross_entropy)


ACCUMULATED_AS = {
    "full batch": assert_accumulation_reproduces_full_batch,
    "mean of micro-batch means": assert_mean_over_k_is_mean_of_means,
}
"""What an accumulation loop's gradient is, by name: the assertion that checks it."""


@pytest.mark.claim("AG-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize(
    ("accumulate", "expected"),
    [(sum_over_global_count, "full batch"), (mean_over_k, "mean of micro-batch means")],
    ids=["sum/global-count", "mean/k"],
)
@pytest.mark.implementations("cross_entropy", {"functional": F.cross_entropy})
@given(data=st.data())
def test_ag4_unequal_counts_accumulate_what_their_normalization_gives(
    device, dtype, accumulate, expected, cross_entropy, data
):
    """With unequal counts of real tokens per micro-batch: summed token losses / the global
    count give the full-batch gradient; mean CE / k gives (1/k)·Σ_j ∇mean_j, whatever the
    counts (which is not the full batch: the counterexample below)."""
    batch = data.draw(token_batches(dtype, equal_counts=False), label="batch")
    ACCUMULATED_AS[expected](accumulate, batch, device, dtype, cross_entropy)


AG4_COUNTEREXAMPLE = {  # micro-batch 1: one real token (then padding); micro-batch 2: two
    "X": np.array([[[1.0], [0.5]], [[-1.0], [2.0]]]),
    "y": np.array([[0, IGNORE], [1, 1]]),
    "W0": np.array([[0.5], [-0.25]]),
    "b0": np.array([0.0, 0.0]),
    "k": 2,
    "lr": 0.3,
}


@pytest.mark.claim("AG-4")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize("accumulate", [mean_over_k], ids=["mean/k"])
@pytest.mark.implementations("cross_entropy", {"functional": F.cross_entropy})
def test_ag4_unequal_counts_mean_over_k_is_not_full_batch_gradient(
    device, dtype, accumulate, cross_entropy
):
    """Outside the domain: with unequal counts, mean CE / k per micro-batch is not the full batch.

    It is the mean of the micro-batch means, (1/k)·Σ_j ∇mean_j, which weights each token by
    1/(k·n_j) instead of 1/Σ_j n_j. Asserted on a fixed regression case with the counts of
    the smallest break ``hypothesis.find`` reaches from ``token_batches``: one real token
    against two (it shrinks further to zero features and weights, where mean/k gives a zero
    bias gradient and the full batch ±1/6).
    """
    batch = {
        k: rounded(v, dtype) if k in ("X", "W0", "b0") else v for k, v in AG4_COUNTEREXAMPLE.items()
    }
    grad = assert_mean_over_k_is_mean_of_means(accumulate, batch, device, dtype, cross_entropy)
    full = oracle_linear_gradient(tokens(batch))
    check_differs(
        grad, full, "mean/k against the full batch", **gradient_tolerances(tokens(batch), dtype)
    )
    relative = np.linalg.norm(grad - full) / np.linalg.norm(full)
    recording.note(
        f"counterexample: micro-batches with 1 and 2 real tokens: mean/k misses the full-batch "
        f"gradient by ‖Δ‖/‖g‖ = {relative:.3g}"
    )
    recording.note("boundary: equal counts of non-ignored targets per micro-batch")
