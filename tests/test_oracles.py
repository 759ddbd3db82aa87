"""Self-tests of the float64 oracles against independent computations (never torch).

References: mpmath at 50 digits for extreme inputs, ``scipy.stats.entropy`` and
``scipy.special.rel_entr`` for divergences, plain Python loops written from the definitions,
central finite differences for every ``*_vjp``, and a hand-unrolled SGD on a quadratic.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from verify import oracles as o

REDUCTIONS = ("none", "mean", "sum")


@pytest.fixture(autouse=True)
def _fifty_digits():
    """mpmath references run at 50 significant digits (restored after each test)."""
    with mp.workdps(50):
        yield


def numeric_vjp(f, x, cotangent, h=1e-6):
    """Central finite differences of ``sum(cotangent * f(x))`` with respect to ``x``."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = np.sum(cotangent * (f(up) - f(down))) / (2 * h)
    return grad


def random_cotangent(rng, reduction, shape):
    return rng.normal(size=shape) if reduction == "none" else rng.normal()


def mp_logsumexp(row):
    return mp.log(mp.fsum(mp.exp(mp.mpf(float(v))) for v in row))


def extreme_logits(rng, n=5, c=6):
    """Rows at a common offset of ±1e3…±1e4 plus small spread, and one row spread over ±1e4."""
    offsets = rng.choice([-1e4, -1e3, 1e3, 1e4], size=(n, 1))
    x = offsets + rng.normal(scale=5.0, size=(n, c))
    x[0] = rng.uniform(-1e4, 1e4, size=c)
    return x


def ce_loop(x, y, w, ignore_index, eps, reduction):
    """Cross-entropy from the definition, one position at a time; NaN 'mean' when 0/0."""
    n_classes = x.shape[1]
    out, denominator = np.zeros(y.shape), 0.0
    for pos in np.ndindex(y.shape):
        t = int(y[pos])
        if t == ignore_index:
            continue
        logits = [x[(pos[0], c, *pos[1:])] for c in range(n_classes)]
        lse = max(logits) + math.log(math.fsum(math.exp(v - max(logits)) for v in logits))
        neg_logp = [lse - v for v in logits]
        smooth = math.fsum(w[c] * neg_logp[c] for c in range(n_classes)) * eps / n_classes
        out[pos] = (1 - eps) * w[t] * neg_logp[t] + smooth
        denominator += w[t]
    return reduce_loop(out, reduction, denominator)


def nll_loop(x, y, w, ignore_index, reduction):
    """NLL from the definition: −w_y·x[n, y, d…] per kept position, 'mean' over Σ w_y."""
    out, denominator = np.zeros(y.shape), 0.0
    for pos in np.ndindex(y.shape):
        t = int(y[pos])
        if t != ignore_index:
            out[pos] = -w[t] * x[(pos[0], t, *pos[1:])]
            denominator += w[t]
    return reduce_loop(out, reduction, denominator)


def reduce_loop(out, reduction, denominator):
    total = math.fsum(out.ravel())
    if reduction == "none":
        return out
    if reduction == "sum":
        return total
    return total / denominator if denominator else float("nan")


# Index-target cases: (shape of x, weight, ignore_index, label_smoothing).
CE_CASES = {
    "plain": ((4, 3), None, -100, 0.0),
    "weight+ignore": ((6, 4), [0.5, 2.0, 1.0, 3.0], 2, 0.0),
    "smoothing": ((5, 4), [0.5, 2.0, 1.0, 3.0], 1, 0.2),
    "k-dim": ((2, 3, 2, 3), [1.5, 0.25, 1.0], 0, 0.1),
}


def ce_inputs(case, seed=0):
    shape, weight, ignore_index, eps = CE_CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=shape)
    y = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
    w = np.ones(shape[1]) if weight is None else np.array(weight)
    kwargs = {"weight": None if weight is None else w, "ignore_index": ignore_index}
    return rng, x, y, w, kwargs, eps


def test_log_softmax_and_softmax_extreme_logits_match_mpmath():
    """x_i − log Σ exp(x_j) and exp(x_i − logsumexp) at 50 digits, for |x| up to 1e4."""
    x = extreme_logits(np.random.default_rng(1))
    lse = [mp_logsumexp(row) for row in x]
    ref_log = np.array(
        [[float(mp.mpf(float(v)) - s) for v in r] for r, s in zip(x, lse, strict=True)]
    )
    ref = np.array(
        [[float(mp.exp(mp.mpf(float(v)) - s)) for v in r] for r, s in zip(x, lse, strict=True)]
    )
    np.testing.assert_allclose(o.log_softmax(x), ref_log, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(o.softmax(x), ref, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(o.log_softmax(x.T, axis=0), ref_log.T, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extreme_logits_match_mpmath(reduction, eps):
    """(1−ε)(lse − x_y) + (ε/C)·Σ_c (lse − x_c), with lse computed in mpmath."""
    rng = np.random.default_rng(2)
    x = extreme_logits(rng)
    y = rng.integers(0, x.shape[1], size=x.shape[0])
    ref = []
    for row, t in zip(x, y, strict=True):
        lse = mp_logsumexp(row)
        smooth = mp.fsum(lse - mp.mpf(float(v)) for v in row) * eps / len(row)
        ref.append((1 - eps) * (lse - mp.mpf(float(row[t]))) + smooth)
    expected = {"none": ref, "sum": mp.fsum(ref), "mean": mp.fsum(ref) / len(ref)}[reduction]
    expected = np.array(expected, dtype=float) if reduction == "none" else float(expected)
    got = o.cross_entropy(x, y, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("case", CE_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_index_targets_match_loops(case, reduction):
    """Loops over positions: weights, ignore_index, smoothing, K-dim, 'mean' over Σ w_y."""
    _, x, y, w, kwargs, eps = ce_inputs(case)
    ignore_index = kwargs["ignore_index"]
    got = o.cross_entropy(x, y, reduction=reduction, label_smoothing=eps, **kwargs)
    np.testing.assert_allclose(got, ce_loop(x, y, w, ignore_index, eps, reduction), rtol=1e-13)
    got = o.nll_loss(x, y, reduction=reduction, **kwargs)
    np.testing.assert_allclose(got, nll_loop(x, y, w, ignore_index, reduction), rtol=1e-13)


@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2)])
def test_cross_entropy_probability_targets_match_scipy_entropy(shape, eps):
    """Per position −Σ q log softmax(x) = H(q') + KL(q' ‖ softmax x), q' = (1−ε)q + ε/C.

    ``stats.entropy`` normalizes its arguments, so exp(x) stands in for softmax(x).
    """
    rng = np.random.default_rng(3)
    x = rng.normal(scale=2.0, size=shape)
    q = np.moveaxis(rng.dirichlet(np.ones(shape[1]), size=(shape[0], *shape[2:])), -1, 1)
    smoothed = (1 - eps) * q + eps / shape[1]
    ref = stats.entropy(smoothed, axis=1) + stats.entropy(smoothed, np.exp(x), axis=1)
    got = o.cross_entropy(x, q, reduction="none", label_smoothing=eps)
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    mean = o.cross_entropy(x, q, reduction="mean", label_smoothing=eps)
    np.testing.assert_allclose(mean, ref.mean(), rtol=1e-13)


def test_uniform_logits_give_log_k():
    """Equal logits: softmax is uniform, so cross-entropy is log C for any target."""
    x, y = np.zeros((3, 7)), np.array([0, 3, 6])
    np.testing.assert_allclose(o.cross_entropy(x, y, reduction="none"), np.full(3, math.log(7)))


def test_mean_of_all_ignored_or_empty_batch_is_nan():
    """'mean' is 0/0 when no target is kept; 'sum' is 0."""
    x = np.random.default_rng(4).normal(size=(3, 4))
    for scores, y in [(x, np.full(3, -100)), (np.zeros((0, 4)), np.zeros(0, dtype=int))]:
        for loss in (o.cross_entropy, o.nll_loss):
            assert np.isnan(loss(scores, y, reduction="mean"))
            assert loss(scores, y, reduction="sum") == 0.0


@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_extreme_logits_match_mpmath(pos_weight):
    """−(pw·y·log σ(x) + (1−y)·log σ(−x)) with log σ(x) = −log1p(exp(−x)) in mpmath."""
    x = np.array([s * m for m in (40.0, 100.0, 300.0, 700.0) for s in (1, -1)] * 3)
    y = np.repeat([0.0, 1.0, 0.25], 8)
    pw = 1.0 if pos_weight is None else pos_weight

    def log_sigmoid(v):
        return -mp.log1p(mp.exp(-mp.mpf(float(v))))

    ref = [
        -(pw * t * log_sigmoid(v) + (1 - t) * log_sigmoid(-v)) for v, t in zip(x, y, strict=True)
    ]
    got = o.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")
    np.testing.assert_allclose(got, np.array(ref, dtype=float), rtol=1e-14, atol=0)


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    """log 0 = −inf is clamped to −100; log(1e-40) ≈ −92.1 is not."""
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1e-40])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    expected = [100.0, 100.0, 0.0, 0.0, 100.0, -math.log(1e-40)]
    np.testing.assert_array_equal(o.binary_cross_entropy(p, y, reduction="none"), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_loop(reduction):
    """−w·(y log p + (1−y) log(1−p)) elementwise with math.log, 'mean' over all elements."""
    rng = np.random.default_rng(5)
    p, y, w = rng.uniform(0.01, 0.99, (4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0, 2, 3)
    out = np.array(
        [[-w[j] * (y[i, j] * math.log(p[i, j]) + (1 - y[i, j]) * math.log(1 - p[i, j]))
          for j in range(3)] for i in range(4)]
    )  # fmt: skip
    expected = reduce_loop(out, reduction, out.size)
    got = o.binary_cross_entropy(p, y, weight=w, reduction=reduction)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_scipy(log_target):
    """Pointwise rel_entr(t, q); 'batchmean' is the row mean of stats.entropy(t, q).

    A zero target (0·log 0 = 0) is tested without log_target only: with log t = −inf the
    formula exp(s)·(s − a) is 0·(−inf) = NaN, as in torch.
    """
    rng = np.random.default_rng(6)
    q, t = rng.dirichlet(np.ones(5), size=4), rng.dirichlet(np.ones(5), size=4)
    if not log_target:
        t[1, 2] = 0.0
        t[1] /= t[1].sum()
    a = np.log(q)
    target = np.log(t) if log_target else t
    kl = lambda r: o.kl_div(a, target, reduction=r, log_target=log_target)  # noqa: E731
    pointwise = special.rel_entr(t, q)
    np.testing.assert_allclose(kl("none"), pointwise, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kl("sum"), pointwise.sum(), rtol=1e-12)
    np.testing.assert_allclose(kl("mean"), pointwise.sum() / t.size, rtol=1e-12)
    np.testing.assert_allclose(kl("batchmean"), stats.entropy(t, q, axis=1).mean(), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_vjps_match_finite_differences(name, axis):
    """∂/∂x Σ g·f(x) against central differences, for a random cotangent g."""
    rng = np.random.default_rng(7)
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    f, vjp = getattr(o, name), getattr(o, f"{name}_vjp")
    expected = numeric_vjp(lambda v: f(v, axis=axis), x, g)
    np.testing.assert_allclose(vjp(x, g, axis=axis), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", [*CE_CASES, "probabilities"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_vjps_match_finite_differences(case, reduction):
    """cross_entropy_vjp / nll_loss_vjp against differences of the oracle values; bound ≥ |vjp|."""
    if case == "probabilities":
        rng, x, _, _, _, _ = ce_inputs("k-dim")
        y = np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 2, 3)), -1, 1)
        kwargs, eps = {"weight": np.array([1.5, 0.25, 1.0])}, 0.1
    else:
        rng, x, y, _, kwargs, eps = ce_inputs(case)
    g = random_cotangent(rng, reduction, x.shape[:1] + x.shape[2:])
    ce = dict(kwargs, reduction=reduction, label_smoothing=eps)
    grad = o.cross_entropy_vjp(x, y, g, **ce)
    expected = numeric_vjp(lambda v: o.cross_entropy(v, y, **ce), x, g)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)
    assert o.cross_entropy_gradient_bound(x, y, g, **ce) >= np.max(np.abs(grad))
    if case != "probabilities":
        grad = o.nll_loss_vjp(x, y, g, reduction=reduction, **kwargs)
        expected = numeric_vjp(lambda v: o.nll_loss(v, y, reduction=reduction, **kwargs), x, g)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ignored_positions_get_exactly_zero_gradient(reduction):
    """Targets equal to ignore_index contribute nothing: zero gradient in every class.

    An all-ignored 'mean' has value NaN (0/0) but its gradient is 0, not NaN.
    """
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(5, 3)), np.array([1, 2, 1, 0, 2])
    for target in (y, np.full(5, 2)):
        ignored = target == 2
        g = random_cotangent(rng, reduction, target.shape)
        for vjp in (o.cross_entropy_vjp, o.nll_loss_vjp):
            grad = vjp(x, target, g, ignore_index=2, reduction=reduction)
            assert np.all(grad[ignored] == 0.0) and np.all(np.isfinite(grad))
        bound = o.cross_entropy_gradient_bound(x, target, g, ignore_index=2, reduction=reduction)
        assert np.isfinite(bound)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_vjps_match_finite_differences(reduction):
    """BCE (weight) and BCE-with-logits (weight, pos_weight) vjps; logits bound ≥ |vjp|."""
    rng = np.random.default_rng(9)
    p, y = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    w, pw = rng.uniform(0.5, 2, 3), np.array([0.5, 1.0, 3.0])
    g = random_cotangent(rng, reduction, (4, 3))
    grad = o.binary_cross_entropy_vjp(p, y, g, weight=w, reduction=reduction)
    f = lambda v: o.binary_cross_entropy(v, y, weight=w, reduction=reduction)  # noqa: E731
    np.testing.assert_allclose(grad, numeric_vjp(f, p, g), rtol=1e-6, atol=1e-8)
    x = rng.normal(scale=3.0, size=(4, 3))
    kwargs = {"weight": w, "pos_weight": pw, "reduction": reduction}
    grad = o.binary_cross_entropy_with_logits_vjp(x, y, g, **kwargs)
    f = lambda v: o.binary_cross_entropy_with_logits(v, y, **kwargs)  # noqa: E731
    np.testing.assert_allclose(grad, numeric_vjp(f, x, g), rtol=1e-6, atol=1e-8)
    for logits in (x, 50 * x):
        bound = o.binary_cross_entropy_with_logits_gradient_bound(logits, y, g, **kwargs)
        grad = o.binary_cross_entropy_with_logits_vjp(logits, y, g, **kwargs)
        assert bound >= np.max(np.abs(grad))


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
def test_kl_div_vjp_matches_finite_differences(reduction, log_target):
    """kl_div_vjp against central differences in the log-input, every reduction."""
    rng = np.random.default_rng(10)
    a, t = np.log(rng.dirichlet(np.ones(4), size=3)), rng.dirichlet(np.ones(4), size=3)
    target = np.log(t) if log_target else t
    g = random_cotangent(rng, reduction, a.shape)
    grad = o.kl_div_vjp(a, target, g, reduction=reduction, log_target=log_target)
    expected = numeric_vjp(lambda v: o.kl_div(v, target, reduction, log_target), a, g)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_extreme_cross_entropy_gradient_bound_holds():
    """With |x| ~ 1e4 the gradient is ±Σ A (nearly one-hot p); the bound must still cover it."""
    rng = np.random.default_rng(11)
    x = extreme_logits(rng)
    y = rng.integers(0, x.shape[1], size=x.shape[0])
    for eps, weight in [(0.0, None), (0.2, rng.uniform(0.5, 2.0, x.shape[1]))]:
        kw = {"weight": weight, "label_smoothing": eps, "reduction": "sum"}
        grad = o.cross_entropy_vjp(x, y, 1.0, **kw)
        assert o.cross_entropy_gradient_bound(x, y, 1.0, **kw) >= np.max(np.abs(grad))


SGD_CASES = {  # momentum μ, dampening τ, weight decay λ, nesterov
    "plain": (0.0, 0.0, 0.0, False),
    "weight-decay": (0.0, 0.0, 0.1, False),
    "momentum": (0.9, 0.0, 0.0, False),
    "dampening": (0.9, 0.5, 0.1, False),
    "nesterov": (0.9, 0.0, 0.1, True),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_trajectory_matches_hand_unrolled_steps(case):
    """Three steps on f(w) = ½wᵀAw, unrolled from the PyTorch SGD documentation formula."""
    mu, tau, lam, nesterov = SGD_CASES[case]
    A, lr = np.array([[2.0, 0.5], [0.5, 1.0]]), 0.1
    w0 = np.array([1.0, -2.0])

    def step(w, g):  # g = ∇f + λw; the update direction is g, b, or g + μb
        return w - lr * (g if mu == 0 else (g + mu * b if nesterov else b))

    g = A @ w0 + lam * w0
    b = g
    w1 = step(w0, g)
    g = A @ w1 + lam * w1
    b = mu * b + (1 - tau) * g
    w2 = step(w1, g)
    g = A @ w2 + lam * w2
    b = mu * b + (1 - tau) * g
    w3 = step(w2, g)
    got = o.sgd_trajectory(
        w0, lambda w: A @ w, steps=3, lr=lr, momentum=mu, dampening=tau, weight_decay=lam,
        nesterov=nesterov,
    )  # fmt: skip
    np.testing.assert_allclose(np.array(got), np.array([w0, w1, w2, w3]), rtol=1e-14)
