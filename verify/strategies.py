"""Hypothesis strategies for loss inputs, as float64 NumPy arrays generated on the CPU.

Arrays are float64 (or int64 for class indices); specs round them to the dtype under test with
``verify.devices.to_device`` and give the oracle the same rounded values
(``verify.devices.rounded``). Strategies that depend on the dtype take it as an argument, so
that the hard regions they reach (large logits, probabilities next to 0 and 1) stay inside what
the dtype can represent.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.oracles.reduction import REDUCTIONS

DEFAULT_IGNORE_INDEX = -100

reused = functools.cache
"""For a function that builds a strategy: the same arguments give the same strategy object.
Strategies are immutable, and the builders here are called inside other strategies' draws:
building a new one per draw made Hypothesis validate it and work out its properties again each
time (a sixth of the specs' CPU time). Draws are unchanged: a strategy's draws depend on what
it is, not on which object it is. Arguments must be hashable (shapes as tuples)."""


@dataclass(frozen=True)
class LossCase:
    """Inputs for one call of a loss: scores, target, keyword params, and a cotangent.

    ``params`` holds NumPy arrays (e.g. class weights) and plain values, keyed as PyTorch
    spells them; ``cotangent`` has the shape of the unreduced-or-reduced loss output and seeds
    the vector-Jacobian product the gradient checks compare.
    """

    scores: np.ndarray
    target: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    cotangent: np.ndarray | float = 1.0


def logit_bound(dtype: torch.dtype) -> float:
    """Largest |logit| drawn for ``dtype``.

    Well past exp's overflow point in every dtype (float16 overflows at e^11.1, float32 at
    e^88.7), so a softmax without max-subtraction is caught, while staying where the
    dtype's spacing leaves the loss meaningful (a bfloat16 logit of 1e4 has spacing 64).
    """
    return 1e4 if dtype in (torch.float64, torch.float32) else 200.0


@reused
def shapes(
    *,
    min_n: int = 1,
    max_n: int = 6,
    min_c: int = 2,
    max_c: int = 6,
    max_kdims: int = 0,
    max_side: int = 3,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Score shapes (N, C) or (N, C, d1, ..., dk) with 0 ≤ k ≤ ``max_kdims``."""
    return st.tuples(
        st.integers(min_n, max_n),
        st.integers(min_c, max_c),
        st.lists(st.integers(1, max_side), max_size=max_kdims).map(tuple),
    ).map(lambda t: (t[0], t[1], *t[2]))


@reused
@st.composite
def logits(draw: st.DrawFn, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """Real-valued scores of ``shape``: a drawn magnitude (1 up to ``bound``) times [-1, 1]."""
    return draw(_magnitudes(bound)) * draw(unit_arrays(shape))


@reused
def _magnitudes(bound: float) -> st.SearchStrategy[float]:
    return st.sampled_from([m for m in (1.0, 10.0, 100.0, 1e3, 1e4) if m <= bound] + [bound])


@reused
def unit_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Float64 arrays of ``shape`` with values in [−1, 1] (no subnormals)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, allow_subnormal=False))


def open_unit_bounds(dtype: torch.dtype) -> tuple[float, float]:
    """Smallest normal and largest below-one value of ``dtype``: (0, 1) as the dtype sees it."""
    info = torch.finfo(dtype)
    return float(info.tiny), 1.0 - float(info.eps) / 2.0


def _representable(value: float, dtype: torch.dtype, *, toward: float) -> float:
    """``value`` rounded to ``dtype``, stepped one ulp ``toward`` ±inf if rounding crossed it.

    Bounds made representable this way keep every drawn value inside them after rounding.
    """
    rounded_value = torch.tensor(value, dtype=torch.float64).to(dtype)
    crossed = rounded_value.item() < value if toward > 0 else rounded_value.item() > value
    if crossed:
        rounded_value = torch.nextafter(rounded_value, torch.tensor(toward, dtype=dtype))
    return rounded_value.item()


@reused
def probabilities(
    shape: tuple[int, ...], dtype: torch.dtype, *, margin: float = 0.0
) -> st.SearchStrategy[np.ndarray]:
    """Values strictly inside (0, 1) in ``dtype``, often right next to 0 or 1.

    With ``margin`` > 0 the values stay in [margin, 1 − margin] (still as close to the edges
    as ``dtype`` allows within that).
    """
    low, high = open_unit_bounds(dtype)
    low = _representable(max(low, margin), dtype, toward=math.inf)
    high = _representable(min(high, 1.0 - margin), dtype, toward=-math.inf)
    near_edges = st.sampled_from([v for v in (low, high, 1e-3, 1.0 - 1e-3) if low <= v <= high])
    return hnp.arrays(np.float64, shape, elements=st.one_of(st.floats(low, high), near_edges))


@reused
def soft_targets(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Probability vectors along axis 1 (the class axis) of ``shape``, zeros allowed."""

    def normalize(raw: np.ndarray) -> np.ndarray:
        raw = raw + (raw.sum(axis=1, keepdims=True) == 0)  # an all-zero row becomes uniform
        return raw / raw.sum(axis=1, keepdims=True)

    return hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)).map(normalize)


@reused
def binary_targets(shape: tuple[int, ...], *, soft: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Targets in {0, 1} (or anywhere in [0, 1] when ``soft``)."""
    elements = st.floats(0.0, 1.0) if soft else st.sampled_from([0.0, 1.0])
    return hnp.arrays(np.float64, shape, elements=elements)


@reused
def class_weights(n_classes: int) -> st.SearchStrategy[np.ndarray]:
    """Distinct positive class weights spanning four orders of magnitude (1e-2 to 1e2).

    Distinct, so that a weighted mean that divides by the wrong count cannot hide behind
    equal weights.
    """
    exponents = hnp.arrays(np.float64, (n_classes,), elements=st.floats(-2.0, 2.0), unique=True)
    return exponents.map(lambda e: 10.0**e)


@reused
def ignore_indices(n_classes: int) -> st.SearchStrategy[int]:
    """An ``ignore_index``: PyTorch's default −100, or a real class in [0, C)."""
    return st.one_of(st.just(DEFAULT_IGNORE_INDEX), st.integers(0, n_classes - 1))


@reused
@st.composite
def class_targets(
    draw: st.DrawFn, positions: tuple[int, ...], n_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Class indices in [0, C) of shape ``positions``; some set to ``ignore_index`` if given.

    With an ignore index, any subset of positions may be ignored, all of them included.
    """
    target = draw(class_indices(positions, n_classes))
    if ignore_index is not None:
        ignored = draw(masks(positions))
        target = np.where(ignored, ignore_index, target)
    return target


@reused
def class_indices(positions: tuple[int, ...], n_classes: int) -> st.SearchStrategy[np.ndarray]:
    """Int64 arrays of ``positions`` with values in [0, ``n_classes``)."""
    return hnp.arrays(np.int64, positions, elements=st.integers(0, n_classes - 1))


@reused
def masks(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Boolean arrays of ``shape``."""
    return hnp.arrays(np.bool_, shape)


@reused
def cotangents(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Upstream gradients for a loss output of ``shape`` (nonzero, mixed signs)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(0.25, 2.0) | st.floats(-2.0, -0.25))


@reused
def reductions() -> st.SearchStrategy[str]:
    return st.sampled_from(REDUCTIONS)


@reused
@st.composite
def classification_cases(
    draw: st.DrawFn,
    dtype: torch.dtype,
    *,
    min_n: int = 0,
    max_n: int = 6,
    min_c: int = 2,
    max_c: int = 6,
    max_kdims: int = 2,
    weights: bool = True,
    ignore_index: bool = True,
    reduction: str | None = None,
) -> LossCase:
    """Scores and class-index targets with optional class weights and ignore_index.

    Covers every reduction (unless one is fixed), K-dimensional inputs, empty batches
    (``min_n=0``), all-ignored batches, heavy class imbalance (weights over four orders of
    magnitude) and logits up to ``logit_bound(dtype)``.
    """
    shape = draw(shapes(min_n=min_n, max_n=max_n, min_c=min_c, max_c=max_c, max_kdims=max_kdims))
    n_classes, positions = shape[1], (shape[0], *shape[2:])
    params: dict[str, Any] = {"reduction": reduction or draw(reductions())}
    ignored = None
    if ignore_index and draw(st.booleans()):
        ignored = draw(ignore_indices(n_classes))
        params["ignore_index"] = ignored
    if weights and draw(st.booleans()):
        params["weight"] = draw(class_weights(n_classes))
    output_shape = positions if params["reduction"] == "none" else ()
    return LossCase(
        scores=draw(logits(shape, logit_bound(dtype))),
        target=draw(class_targets(positions, n_classes, ignored)),
        params=params,
        cotangent=draw(cotangents(output_shape)),
    )
