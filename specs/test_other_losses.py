"""Other losses named in the tutorials: MISC-1 (adaptive softmax) and MISC-2 (argument order).

MISC-1: ``nn.AdaptiveLogSoftmaxWithLoss`` (Grave et al., 2017) splits the classes into a
shortlist [0, c0) and clusters [c_i, c_{i+1}). Its head scores the shortlist and one entry per
cluster; cluster i has its own two-layer projection. For a class c in cluster i,

    log p(c | x) = log_softmax(head(x))[c0 + i] + log_softmax(tail_i(x))[c − c_i],

and log p(c | x) = log_softmax(head(x))[c] on the shortlist. ``forward(x, y)`` returns
``output`` = log p(y | x) per row and ``loss`` = mean(−output); ``log_prob(x)`` returns the
whole (N, n_classes) table. The spec rebuilds log p from the module's own weights in float64
NumPy (``adaptive_log_prob``) with its gradient, so that ``.loss``, ``.output`` and
``log_prob`` are each held to an independent reference.

MISC-2: PyTorch losses take ``(input, target)``; Keras takes ``(y_true, y_pred)``. A port
that keeps Keras' order swaps them. BCE is asymmetric: for a hard label y ∈ {0, 1} and a
prediction p ∈ (0, 1), with a = |y − p|,

    BCE(p, y) = −log(1 − a)      but      BCE(y, p) = 100·a

(the swapped input y sits at 0 or 1, where PyTorch clamps the log at −100), so the swap
turns the log loss into a scaled L1 loss; its gradient with respect to p is ∓inf, because
PyTorch's gradient with respect to the target differentiates the unclamped logs. MSE and
L1 depend on |x − y| only and do not see the swap.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special
from torch import nn

from verify import oracles, recording
from verify import strategies as vs
from verify.autodiff import value_and_grad
from verify.checks import check, check_pairs
from verify.devices import rounded, to_device, to_numpy
from verify.oracles import regression
from verify.oracles.reduction import REDUCTIONS, expand_cotangent, reduce
from verify.tolerances import assert_close, loss_scale

# --------------------------------------------------------------------------------------------
# MISC-1: AdaptiveLogSoftmaxWithLoss.

SEED = 0
IN_FEATURES, N_CLASSES, CUTOFFS, DIV_VALUE = 4, 8, (3, 5), 2.0  # tails of width 2 and 1


_BUILT: dict[tuple, nn.Module] = {}


def build_adaptive(cls, device: str, dtype: torch.dtype, head_bias: bool) -> nn.Module:
    """``cls(IN_FEATURES, N_CLASSES, CUTOFFS, ...)`` initialized from torch.manual_seed(SEED).

    The global RNG is forked, so seeding here leaves every other test's randomness alone.
    The weights are frozen (the specs differentiate with respect to the input only) and
    nothing mutates the module, so one is built per class, device, dtype and head_bias and
    reused across examples (seeding is slow: it formats a stack trace for each lazy device).
    """
    key = (cls, device, dtype, head_bias)
    if key not in _BUILT:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            module = cls(
                IN_FEATURES, N_CLASSES, list(CUTOFFS), div_value=DIV_VALUE, head_bias=head_bias
            )
        _BUILT[key] = module.to(device=device, dtype=dtype).requires_grad_(False)
    return _BUILT[key]


def adaptive_weights(module: nn.Module) -> dict:
    """The module's weights as float64 arrays: head (weight, bias or None), tails [(A, B)]."""
    bias = module.head.bias
    return {
        "head": to_numpy(module.head.weight),
        "bias": None if bias is None else to_numpy(bias),
        "tails": [(to_numpy(a.weight), to_numpy(b.weight)) for a, b in module.tail],
        "cutoffs": [*CUTOFFS, N_CLASSES],
    }


def _head_scores(x: np.ndarray, w: dict) -> np.ndarray:
    scores = x @ w["head"].T
    return scores if w["bias"] is None else scores + w["bias"]


def adaptive_log_prob(x: np.ndarray, w: dict) -> np.ndarray:
    """log p(c | x) for every class (N, n_classes), from the definition in the module docstring.

    head = x·Hᵀ (+ b); tail_i = x·A_iᵀ·B_iᵀ; the shortlist takes log_softmax(head)[:c0], and
    cluster i's classes take log_softmax(tail_i) + log_softmax(head)[c0 + i].
    """
    head_lp = oracles.log_softmax(_head_scores(x, w), axis=1)
    shortlist = w["cutoffs"][0]
    columns = [head_lp[:, :shortlist]]
    for i, (a, b) in enumerate(w["tails"]):
        cluster_lp = oracles.log_softmax(x @ a.T @ b.T, axis=1)
        columns.append(cluster_lp + head_lp[:, shortlist + i : shortlist + i + 1])
    return np.concatenate(columns, axis=1)


def adaptive_log_prob_vjp(x: np.ndarray, w: dict, cotangent: np.ndarray) -> np.ndarray:
    """∂/∂x of Σ G ⊙ log p(· | x), for G of shape (N, n_classes): the chain rule, by hand.

    Each cluster's block of G reaches its tail's log-softmax directly and the head's entry
    c0 + i through its row sum; the shortlist block reaches the head directly.
    """
    shortlist = w["cutoffs"][0]
    head_cotangent = np.zeros((x.shape[0], shortlist + len(w["tails"])))
    head_cotangent[:, :shortlist] = cotangent[:, :shortlist]
    grad = np.zeros_like(x)
    for i, (a, b) in enumerate(w["tails"]):
        block = cotangent[:, w["cutoffs"][i] : w["cutoffs"][i + 1]]
        head_cotangent[:, shortlist + i] = block.sum(axis=1)
        grad += oracles.log_softmax_vjp(x @ a.T @ b.T, block, axis=1) @ b @ a
    return grad + oracles.log_softmax_vjp(_head_scores(x, w), head_cotangent, axis=1) @ w["head"]


def adaptive_condition(x: np.ndarray, w: dict) -> float:
    """1 + the largest Σ_k |x_k|·|W_ck| over head and tails + log C: the scores' error scale.

    The scores are dot products, whose rounding error is relative to the sum of the
    magnitudes of their terms, not to the (possibly cancelled) score itself.
    """
    magnitudes = [np.abs(x) @ np.abs(w["head"]).T]
    magnitudes += [np.abs(x) @ np.abs(a).T @ np.abs(b).T for a, b in w["tails"]]
    largest = max(float(np.max(m, initial=0.0)) for m in magnitudes)
    return 1.0 + largest + np.log(N_CLASSES)


def adaptive_gradient_scale(x: np.ndarray, w: dict, cotangent: float) -> float:
    """|g|/N · 2·max_k (Σ_c |H_ck| + Σ_i Σ_c (|B_i|·|A_i|)_ck): the size of the gradient's terms.

    The gradient Σ_c W_c·(p_c − [c = y]) cancels where p is near the target, so its rounding
    error is relative to the size of the two terms, not to the gradient itself.
    """
    columns = np.abs(w["head"]).sum(axis=0)
    for a, b in w["tails"]:
        columns = columns + (np.abs(b) @ np.abs(a)).sum(axis=0)
    return abs(cotangent) / x.shape[0] * 2.0 * float(np.max(columns))


@pytest.mark.claim("MISC-1")
@pytest.mark.dtypes(torch.float64, torch.float32)
@pytest.mark.parametrize(
    "adaptive_log_softmax",
    [nn.AdaptiveLogSoftmaxWithLoss],
    ids=["torch.nn.AdaptiveLogSoftmaxWithLoss"],
)
@given(data=st.data())
def test_misc1_adaptive_softmax_loss_is_nll_of_its_log_prob(
    device, dtype, adaptive_log_softmax, nll_loss, data
):
    """``.loss`` = NLL (mean) of ``log_prob(x)``; rows of ``log_prob`` are normalized.

    On a module with in_features 4, 8 classes, cutoffs [3, 5], div_value 2 (with and
    without head bias), seeded with torch.manual_seed(0), and inputs up to 1e4:

    - every row of ``log_prob(x)`` has logsumexp 0 (computed in float64 by SciPy from the
      returned tensor), and ``log_prob`` equals the float64 adaptive softmax of the module's
      weights;
    - ``.output`` equals ``log_prob(x)`` gathered at the targets;
    - ``.loss`` equals NLLLoss(log_prob(x), y) with reduction 'mean' (not 'sum');
    - the gradients of ``.loss`` and of NLLLoss(log_prob(x), y) with respect to x both equal
      the float64 gradient −(g/N)·Σ_n ∂ log p(y_n | x_n)/∂x.
    """
    head_bias = data.draw(st.booleans(), label="head_bias")
    n = data.draw(st.integers(1, 4), label="n")
    scores = data.draw(vs.logits((n, IN_FEATURES), vs.logit_bound(dtype)), label="input")
    target = data.draw(
        hnp.arrays(np.int64, (n,), elements=st.integers(0, N_CLASSES - 1)), label="target"
    )
    cotangent = float(rounded(data.draw(vs.cotangents(()), label="cotangent"), dtype))
    module = build_adaptive(adaptive_log_softmax, device, dtype, head_bias)
    w = adaptive_weights(module)
    x_np = rounded(scores, dtype)
    x, y = to_device(x_np, device, dtype), to_device(target, device)

    expected = adaptive_log_prob(x_np, w)
    condition, terms = adaptive_condition(x_np, w), x_np.size * N_CLASSES
    log_prob = module.log_prob(x).detach()
    returned = to_numpy(log_prob)
    result = module(x, y)
    values = [
        (
            result.loss,
            oracles.nll_loss(returned, target),
            ".loss against NLLLoss(log_prob, y), mean",
        ),
        (
            result.output,
            returned[np.arange(n), target],
            ".output against log_prob gathered at the targets",
        ),
        (special.logsumexp(returned, axis=1), np.zeros(n), "logsumexp of each log_prob row"),
        (log_prob, expected, "log_prob against the float64 adaptive softmax"),
    ]
    tolerance = {"dtype": dtype, "terms": terms, "condition": condition}
    check_pairs([(actual, reference, 1.0, what) for actual, reference, what in values], **tolerance)
    _check_adaptive_gradients(
        module, nll_loss, [x, y], (x_np, w, target), expected, cotangent, tolerance
    )


def _check_adaptive_gradients(module, nll_loss, inputs, problem, expected, cotangent, tolerance):
    """The gradients of ``.loss`` and of NLLLoss(log_prob(x), y) with respect to x against the
    float64 gradient −(g/N)·Σ_n ∂ log p(y_n | x_n)/∂x (``problem`` = (x, weights, targets))."""
    x_np, w, target = problem
    expected_grad = adaptive_log_prob_vjp(
        x_np, w, oracles.nll_loss_vjp(expected, target, cotangent)
    )
    grad_scale = adaptive_gradient_scale(x_np, w, cotangent)
    sides = {
        ".loss": lambda inputs, targets: module(inputs, targets).loss,
        "NLLLoss(log_prob)": lambda inputs, targets: nll_loss(module.log_prob(inputs), targets),
    }
    for name, fn in sides.items():
        _, grad = value_and_grad(fn, inputs, cotangent=cotangent)
        assert_close(
            grad,
            expected_grad,
            **tolerance,
            scale=grad_scale,
            what=f"gradient of {name} with respect to the input",
        )


# --------------------------------------------------------------------------------------------
# MISC-2: losses take (input, target); swapping them changes BCE, not MSE or L1.

PROBABILITY_MARGIN = 2e-12  # p·(1 − p) ≥ 1e-12, where BCELoss's gradient is not capped
SWAP_EXAMPLE = (0.8, 1.0)  # (p, y)


def bce_swap_oracle(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BCE(y, p) for hard y: −[p·max(log y, −100) + (1 − p)·max(log(1 − y), −100)] = 100·|y − p|."""
    return 100.0 * np.abs(y - p)


def bce_target_gradient(
    p: np.ndarray, y: np.ndarray, cotangent: np.ndarray | float, reduction: str
) -> np.ndarray:
    """∂/∂p of Σ g·BCE(y, p) as PyTorch computes it: g·(log(1 − y) − log y), logs unclamped.

    For y ∈ {0, 1} that is g·(+inf) for y = 0 and g·(−inf) for y = 1 (scaled by 1/N for
    'mean'), not the slope ±100 of the clamped value.
    """
    g = expand_cotangent(cotangent, np.shape(p), reduction)
    with np.errstate(divide="ignore"):
        return g * (np.log1p(-y) - np.log(y))


def _check_swap(binary_cross_entropy, tensors, arrays, cotangent, reduction, dtype) -> None:
    """BCE(p, y) and BCE(y, p) against their oracles (values, and gradients with respect to p),
    the swapped oracle against 100·|y − p|, and the swapped value above the correct one."""
    prediction, label = tensors
    p, y = arrays
    n = p.size
    swapped = oracles.binary_cross_entropy(y, p, reduction=reduction)
    scale = loss_scale(reduction, n)
    value, grad = value_and_grad(
        binary_cross_entropy, [prediction, label], cotangent=cotangent, reduction=reduction
    )
    assert_close(
        value,
        oracles.binary_cross_entropy(p, y, reduction=reduction),
        dtype=dtype,
        terms=n,
        scale=scale,
        what=f"BCE(p, y) value ({reduction})",
    )
    assert_close(
        grad,
        oracles.binary_cross_entropy_vjp(p, y, cotangent, reduction=reduction),
        dtype=dtype,
        terms=n,
        what=f"BCE(p, y) gradient with respect to p ({reduction})",
    )
    swapped_value, swapped_grad = value_and_grad(
        binary_cross_entropy,
        [label, prediction],
        cotangent=cotangent,
        wrt=1,
        reduction=reduction,
    )
    assert_close(
        swapped_value,
        swapped,
        dtype=dtype,
        terms=n,
        scale=100.0 * scale,
        what=f"BCE(y, p) value ({reduction})",
    )
    assert_close(
        swapped_grad,
        bce_target_gradient(p, y, cotangent, reduction),
        dtype=dtype,
        what=f"BCE(y, p) gradient with respect to p ({reduction})",
    )
    assert_close(
        swapped,
        reduce(bce_swap_oracle(p, y), reduction),
        dtype=torch.float64,
        terms=n,
        what="oracle identity BCE(y, p) = 100·|y − p|",
    )
    original, changed = to_numpy(value), to_numpy(swapped_value)
    check(np.all(changed > original), "swapped BCE", changed, f"above {original}")


@pytest.mark.claim("MISC-2")
@given(data=st.data())
def test_misc2_swapping_bce_arguments_changes_the_loss(device, dtype, binary_cross_entropy, data):
    """BCE(p, y) ≠ BCE(y, p): the swapped form is 100·|y − p| (the clamp), always larger.

    For hard labels and p with p·(1 − p) ≥ 1e-12: BCE(p, y) = −log(1 − a) ≤ 27.7 and
    BCE(y, p) = 100·a with a = |y − p| ∈ (0, 1), and 100·a > −log(1 − a) there (by a factor
    of at least 3.6), so the swap always changes the value, per element and reduced. Both
    are held to the float64 oracle, values and gradients with respect to p: the correct
    order's (p − y)/(p(1 − p)), and the swapped order's ∓inf. Each example runs all three
    reductions.
    """
    n = data.draw(st.integers(1, 5), label="n")
    p = rounded(
        data.draw(vs.probabilities((n,), dtype, margin=PROBABILITY_MARGIN), label="p"), dtype
    )
    y = data.draw(vs.binary_targets((n,)), label="y")
    prediction, label = to_device(p, device, dtype), to_device(y, device, dtype)
    for reduction in REDUCTIONS:
        cotangent = rounded(
            data.draw(vs.cotangents((n,) if reduction == "none" else ()), label="g"), dtype
        )
        _check_swap(binary_cross_entropy, (prediction, label), (p, y), cotangent, reduction, dtype)


@pytest.mark.claim("MISC-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
def test_misc2_swapped_bce_example(device, dtype, binary_cross_entropy):
    """Counterexample: BCE(p=0.8, y=1) = −log 0.8 = 0.2231, but BCE(1, 0.8) = 100·0.2 = 20."""
    p, y = (np.array([v]) for v in SWAP_EXAMPLE)
    prediction, label = to_device(p, device, dtype), to_device(y, device, dtype)
    original = binary_cross_entropy(prediction, label)
    swapped = binary_cross_entropy(label, prediction)
    assert_close(original, oracles.binary_cross_entropy(p, y), dtype=dtype, what="BCE(0.8, 1)")
    assert_close(swapped, oracles.binary_cross_entropy(y, p), dtype=dtype, what="BCE(1, 0.8)")
    assert_close(swapped, bce_swap_oracle(p, y)[0], dtype=dtype, what="BCE(1, 0.8) = 100·0.2")
    check(
        float(swapped) > 50 * float(original),
        "BCE(1, 0.8)",
        float(swapped),
        f"more than 50·BCE(0.8, 1) = {50 * float(original):.4g}",
    )
    recording.note(
        f"counterexample: BCE(p=0.8, y=1) = {float(original):.4f} but BCE(1, 0.8) = "
        f"{float(swapped):.4f} (= 100·|y − p|, the log clamp); ∂/∂p of the swapped form is −inf"
    )


@pytest.mark.claim("MISC-2")
@pytest.mark.dtypes(torch.float64)
def test_misc2_swap_is_invisible_where_both_orders_clamp(device, dtype, binary_cross_entropy):
    """Boundary: for y = 1 and p ≤ e^−100 ≈ 3.7e-44 both orders give 100 (both clamp).

    BCE(p, 1) = min(−log p, 100) = 100 and BCE(1, p) = 100·(1 − p) = 100 in float64: the
    only inputs in (0, 1) where the swap does not change BCE's value (float32 normals do
    not reach below e^−100).
    """
    p, y = np.array([1e-50]), np.array([1.0])
    prediction, label = to_device(p, device, dtype), to_device(y, device, dtype)
    original = binary_cross_entropy(prediction, label)
    swapped = binary_cross_entropy(label, prediction)
    assert_close(original, oracles.binary_cross_entropy(p, y), dtype=dtype, what="BCE(1e-50, 1)")
    assert_close(swapped, oracles.binary_cross_entropy(y, p), dtype=dtype, what="BCE(1, 1e-50)")
    check(
        float(original) == float(swapped) == 100.0,
        "BCE and swapped BCE",
        (float(original), float(swapped)),
        (100.0, 100.0),
    )
    recording.note("boundary: BCE(p, 1) = BCE(1, p) = 100 once p ≤ e^-100 (both clamp)")


@pytest.mark.claim("MISC-2")
@pytest.mark.dtypes(torch.float64, torch.float32)
@given(data=st.data())
def test_misc2_symmetric_losses_ignore_the_swap(device, dtype, l1_loss, mse_loss, data):
    """MSE and L1 depend on |x − y| only: loss(x, y) = loss(y, x), values and gradients.

    The swapped order loss(y, x) is held to the oracle of loss(x, y), and its gradient with
    respect to the prediction x (now the second argument) to the oracle's VJP. x − y =
    −(y − x) exactly in floating point, whatever the precision (so float64 and float32
    suffice), and the correct order (held to the same oracle by REG-1) agrees with the
    swapped one bit for bit. Each example runs all three reductions.
    """
    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 3)), label="shape")
    magnitude = data.draw(st.sampled_from([1.0, 10.0]), label="magnitude")
    unit = hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, allow_subnormal=False))
    x = rounded(data.draw(unit, label="prediction") * magnitude, dtype)
    y = rounded(data.draw(unit, label="target") * magnitude, dtype)
    prediction, target = to_device(x, device, dtype), to_device(y, device, dtype)
    for reduction in REDUCTIONS:
        cotangent = rounded(
            data.draw(vs.cotangents(shape if reduction == "none" else ()), label="g"), dtype
        )
        for name, fn, reference, reference_vjp in (
            ("L1Loss", l1_loss, regression.l1_loss, regression.l1_loss_vjp),
            ("MSELoss", mse_loss, regression.mse_loss, regression.mse_loss_vjp),
        ):
            expected = reference(x, y, reduction)
            expected_grad = reference_vjp(x, y, cotangent, reduction)
            swapped, swapped_grad = value_and_grad(
                fn, [target, prediction], cotangent=cotangent, wrt=1, reduction=reduction
            )
            assert_close(swapped, expected, dtype=dtype, terms=x.size, what=f"{name}(y, x) value")
            assert_close(
                swapped_grad,
                expected_grad,
                dtype=dtype,
                terms=x.size,
                what=f"{name}(y, x) gradient with respect to x",
            )
            straight, straight_grad = value_and_grad(
                fn, [prediction, target], cotangent=cotangent, reduction=reduction
            )
            check(
                torch.equal(straight, swapped), f"{name} swapped ({reduction})", swapped, straight
            )
            np.testing.assert_array_equal(straight_grad, swapped_grad)
