"""Tolerances derived from dtype and problem size, and the one comparison every spec uses.

A result computed in dtype ``d`` differs from the exact result of the same (rounded) inputs by
rounding error from two sources: the arithmetic, done in the accumulation dtype (float32 for
float16 and bfloat16, as PyTorch's CPU and CUDA kernels and fused loss kernels do), and the
rounding of results stored in ``d``. With u_c and u_d the machine epsilons of the two, the
elementwise bound |actual − expected| ≤ atol + rtol·|expected| uses

    rtol = SAFETY_FACTOR · (u_c · (1 + log2 terms) + u_d)
    atol = SAFETY_FACTOR · (u_c · (1 + log2 terms) · condition + u_d) · scale

- ``terms``: how many values a reduction adds up. PyTorch and NumPy sum pairwise or in
  blocks, whose error grows like log2(terms), not like terms.
- ``condition``: how much the arithmetic amplifies rounding error. Log-domain losses subtract
  a log-sum-exp from the logits, so an error of u_c·max|x| appears in absolute terms:
  ``logsumexp_condition`` gives 1 + max|x| + log C.
- ``scale``: what absolute error is measured against: by default the largest finite
  |expected| (a normwise bound); ``loss_scale`` gives it for a reduced loss.
- ``SAFETY_FACTOR``: a handful of roundings per elementary operation along a short chain
  (cast, exp, sum, log, subtract, multiply, reduce) and the oracle's own float64 rounding.

Nothing in the suite chooses a tolerance elsewhere: specs describe the problem (dtype, terms,
condition, scale), and this module turns it into a bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np
import torch

from verify import recording
from verify.devices import dtype_name

SAFETY_FACTOR = 8.0


@dataclass(frozen=True)
class Tolerance:
    """Elementwise bound: |actual − expected| ≤ atol + rtol·|expected|."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Comparison:
    """How far ``actual`` is from ``expected``, against the tolerance it was held to."""

    tolerance: Tolerance
    max_abs: float
    max_rel: float
    ratio: float  # max over elements of |actual − expected| / (atol + rtol·|expected|)
    worst_index: tuple[int, ...] | None
    actual_at_worst: float | None
    expected_at_worst: float | None

    @property
    def passed(self) -> bool:
        return self.ratio <= 1.0


# Finite differences in float64, the conformance engine's check that an implementation's
# gradient agrees with its own values: central differences with step FD_STEP have truncation
# error of order step² and rounding error of order u·|f|/step ≈ 1e-10·|f|; the bound is
# torch.autograd.gradcheck's default (eps 1e-6, atol 1e-5, rtol 1e-3), which leaves room for
# both on the smooth inputs that check draws.
FD_STEP = 1e-6
FD_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-5)


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the arithmetic is done in: float32 for the 16-bit floating dtypes."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def tolerance(
    dtype: torch.dtype,
    *,
    terms: int = 1,
    condition: float = 1.0,
    scale: float = 1.0,
    pointwise: bool = False,
) -> Tolerance:
    """The rounding-error bound for a result computed in ``dtype`` (see the module docstring).

    ``pointwise=True`` is for elementwise formulas whose intermediates an implementation may
    round to ``dtype`` itself (PyTorch's CPU kernel for BCE-with-logits does in float16: its
    (1 − y)·x + log(1 + e^−x) then cancels to u_d·|x|); the arithmetic epsilon is then the
    dtype's own.
    """
    arithmetic = dtype if pointwise else accumulation_dtype(dtype)
    u_compute = torch.finfo(arithmetic).eps * (1.0 + math.log2(max(terms, 1)))
    u_store = torch.finfo(dtype).eps
    rtol = SAFETY_FACTOR * (u_compute + u_store)
    atol = SAFETY_FACTOR * (u_compute * max(condition, 1.0) + u_store) * scale
    # Nothing below the dtype's smallest normal number is judged: an implementation may flush
    # subnormal intermediates to zero (denormals-are-zero modes, GPU kernels) or reorder a
    # product so that one underflows, losing up to that much; a gradient of 2e-308 returned
    # as 0 in float64 is not a deviation.
    atol = max(atol, torch.finfo(dtype).tiny)
    return Tolerance(rtol=rtol, atol=atol)


def logsumexp_condition(scores: np.ndarray, class_axis: int = 1) -> float:
    """1 + max|x| + log C: the absolute-error amplification of a log-softmax of ``scores``."""
    scores = np.asarray(scores)
    if scores.size == 0:
        return 1.0
    return 1.0 + float(np.max(np.abs(scores))) + math.log(scores.shape[class_axis])


def softplus_condition(logits: np.ndarray) -> float:
    """1 + max|x| + log 2: the absolute-error amplification of log(1 + e^±x), BCE with logits
    (the log-sum-exp of [0, x], ``logsumexp_condition`` with two classes)."""
    logits = np.asarray(logits)
    if logits.size == 0:
        return 1.0
    return 1.0 + float(np.max(np.abs(logits))) + math.log(2)


def loss_scale(reduction: str, positions: int, weight: np.ndarray | None = None) -> float:
    """The magnitude of a reduced loss's absolute error per unit of per-position error.

    'mean' is a (weighted) average, 'none' is per position: both scale with the largest weight;
    'sum' adds ``positions`` of them.
    """
    largest_weight = float(np.max(weight)) if weight is not None and np.size(weight) else 1.0
    return largest_weight * (max(positions, 1) if reduction == "sum" else 1.0)


def _as_float64(value: torch.Tensor | np.ndarray | float) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def _default_scale(expected: np.ndarray, dtype: torch.dtype) -> float:
    finite = np.abs(expected[np.isfinite(expected)])
    largest = float(finite.max()) if finite.size else 0.0
    return max(largest, torch.finfo(dtype).tiny)


def _ratios(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    both_nan = np.isnan(actual) & np.isnan(expected)
    same_inf = np.isinf(actual) & np.isinf(expected) & (actual == expected)
    with np.errstate(invalid="ignore", over="ignore"):
        allowed = tol.atol + tol.rtol * np.abs(expected)
        error = np.abs(actual - expected)
        ratios = np.where(allowed > 0, error / np.where(allowed > 0, allowed, 1.0), np.inf)
        ratios = np.where(error == 0, 0.0, ratios)
    ratios = np.where(np.isnan(ratios), np.inf, ratios)
    return np.where(both_nan | same_inf, 0.0, ratios)


def compare(
    actual: torch.Tensor | np.ndarray | float,
    expected: torch.Tensor | np.ndarray | float,
    *,
    dtype: torch.dtype,
    terms: int = 1,
    condition: float = 1.0,
    scale: float | None = None,
    pointwise: bool = False,
) -> Comparison:
    """Measure ``actual`` against ``expected`` under the tolerance for ``dtype`` and size."""
    a, e = _as_float64(actual), _as_float64(expected)
    if a.shape != e.shape:
        raise AssertionError(f"shape mismatch: got {a.shape}, expected {e.shape}")
    if scale is None:
        scale = _default_scale(e, dtype)
    tol = tolerance(dtype, terms=terms, condition=condition, scale=scale, pointwise=pointwise)
    if a.size == 0:
        return Comparison(tol, 0.0, 0.0, 0.0, None, None, None)
    ratios = _ratios(a, e, tol)
    worst = np.unravel_index(int(np.argmax(ratios)), a.shape)
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_err = np.abs(a - e)[finite]
        rel_err = abs_err / np.abs(e[finite])
    rel_err = rel_err[np.isfinite(rel_err)]
    nonfinite_mismatch = bool(np.any(np.isinf(ratios) & ~finite))
    return Comparison(
        tolerance=tol,
        max_abs=math.inf if nonfinite_mismatch else float(abs_err.max()) if abs_err.size else 0.0,
        max_rel=math.inf if nonfinite_mismatch else float(rel_err.max()) if rel_err.size else 0.0,
        ratio=float(ratios[worst]),
        worst_index=tuple(int(i) for i in worst),
        actual_at_worst=float(a[worst]),
        expected_at_worst=float(e[worst]),
    )


def describe(comparison: Comparison) -> str:
    """One-paragraph account of a comparison: errors, the bound, and the worst element."""
    tol = comparison.tolerance
    return (
        f"max abs err {comparison.max_abs:.3g}, max rel err {comparison.max_rel:.3g}, "
        f"worst at index {comparison.worst_index}: got {comparison.actual_at_worst!r}, "
        f"expected {comparison.expected_at_worst!r} "
        f"(allowed rtol={tol.rtol:.3g}, atol={tol.atol:.3g}; error is "
        f"{comparison.ratio:.3g}× the bound)"
    )


class ToleranceArgs(TypedDict, total=False):
    """The problem a comparison's tolerance is derived from: ``assert_close``'s keyword
    arguments besides ``dtype`` and ``what`` (``scale`` None: the largest finite |expected|)."""

    terms: int
    condition: float
    scale: float | None
    pointwise: bool


def assert_close(
    actual: torch.Tensor | np.ndarray | float,
    expected: torch.Tensor | np.ndarray | float,
    *,
    dtype: torch.dtype,
    what: str = "value",
    **tolerance: Unpack[ToleranceArgs],
) -> Comparison:
    """Assert ``actual`` ≈ ``expected`` within the derived tolerance; record the error.

    The elementwise check is ``torch.testing.assert_close`` (NaN equals NaN, matching
    infinities are equal); on failure the message names what was compared, the max absolute
    and relative errors, the bound, and the worst element. ``tolerance``: ``compare``'s
    keyword arguments (``terms``, ``condition``, ``scale``, ``pointwise``), with its defaults.
    """
    comparison = compare(actual, expected, dtype=dtype, **tolerance)
    recording.record_comparison(comparison.ratio, comparison.max_abs, comparison.max_rel)
    a, e = _as_float64(actual), _as_float64(expected)
    try:
        torch.testing.assert_close(
            torch.from_numpy(a),
            torch.from_numpy(e),
            rtol=comparison.tolerance.rtol,
            atol=comparison.tolerance.atol,
            equal_nan=True,
        )
    except AssertionError as error:
        raise AssertionError(f"{_mismatch(what, comparison, dtype)}\n{error}") from None
    return comparison


def got_and_expected(comparison: Comparison) -> tuple[str, str]:
    """A failed comparison's "got" (the worst element, its errors) and "expected" (the
    reference there, and the bound), for the one message voice of ``verify.checks``."""
    tol = comparison.tolerance
    got = (
        f"{comparison.actual_at_worst!r} at index {comparison.worst_index} (max abs err "
        f"{comparison.max_abs:.3g}, max rel err {comparison.max_rel:.3g}, "
        f"{comparison.ratio:.3g}× the bound)"
    )
    expected = f"{comparison.expected_at_worst!r} (rtol={tol.rtol:.3g}, atol={tol.atol:.3g})"
    return got, expected


def _mismatch(what: str, comparison: Comparison, dtype: torch.dtype) -> str:
    """The failure message of ``assert_close``, in the one voice of ``verify.checks``."""
    from verify.checks import failure_message  # verify.checks builds on this module

    return failure_message(what, *got_and_expected(comparison), dtype=dtype_name(dtype))


def assert_matches_published(actual: torch.Tensor | float, published: str, *, what: str) -> None:
    """Assert ``actual`` rounds to the ``published`` figure at the precision it is given.

    "0.5493" is given to 1e-4, so any value within half of that, [0.54925, 0.54935], matches.
    """
    value = float(_as_float64(actual))
    decimals = len(published.split(".")[1]) if "." in published else 0
    half_unit = 0.5 * 10.0**-decimals
    recording.record_comparison(
        abs(value - float(published)) / half_unit, abs(value - float(published)), 0.0
    )
    if not abs(value - float(published)) <= half_unit * (1 + 1e-9):
        from verify.checks import failure_message  # verify.checks builds on this module

        raise AssertionError(
            failure_message(what, repr(value), f"published {published} (±{half_unit:g})")
        )
