"""The types a contract is made of, and the calling convention of an implementation.

A ``Contract`` names a loss, its float64 oracle and analytic gradient (``verify.oracles``), its
parameters with their domains (spelled as PyTorch spells them), the input kinds it accepts,
its torch forms (what the specs test when nobody points them at anything else), its
``FeatureMatrix`` (what ``verify check`` exercises: optional features, case strategies, error
bounds, edge cases and wrong-convention variants for diagnosis) and its benchmark cases.

A contract's *core* case is its basic input kind with default parameters. Everything else is
an optional *feature*: a parameter (``weight``, ``ignore_index``, ``label_smoothing``,
``pos_weight``, ``log_target``, a non-default ``reduction``) or an input kind (K-dimensional
scores, probability targets, soft binary targets).

Calling convention: an implementation is ``fn(*inputs, **params) -> Tensor`` (for a loss,
``fn(input, target, **params)``). An ``nn.Module`` subclass is instantiated with the params and
called with the inputs; ``as_implementation`` turns either into the same kind of callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from verify import oracles
from verify.strategies import LossCase

if TYPE_CHECKING:
    from verify.benchmarking.workloads import Case


@dataclass(frozen=True)
class Param:
    """A parameter of a contract: its name, default, and domain (choices or a description)."""

    name: str
    default: Any
    domain: str
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Implementation:
    """A callable under test, normalized to ``impl(*inputs, **params) -> Tensor``.

    ``obj`` is what the user gave: a function (form 'functional'), or an ``nn.Module`` subclass
    (form 'module'), instantiated with the params and called with the inputs. Keeping the object
    itself (no closure) lets an implementation that pickles travel to a worker process.
    """

    name: str
    form: str  # 'functional' or 'module'
    obj: Any

    def __call__(self, *inputs: torch.Tensor, **params: Any) -> torch.Tensor:
        if self.form == "module":
            return self.obj(**params)(*inputs)
        return self.obj(*inputs, **params)

    @property
    def __name__(self) -> str:  # specs name implementations in their notes
        return self.name


@dataclass(frozen=True)
class Feature:
    """An optional feature: a keyword parameter or an input kind.

    An input kind has no keyword to decline: ``used_by`` tells from a call's positional inputs
    whether the call uses it, so that an implementation failing on such a call, any error,
    declines the kind (an honest loss for class indices fails on probability targets with an
    IndexError, not a NotImplementedError)."""

    name: str
    description: str
    param: str | None = None  # the keyword whose absence means "unsupported"
    used_by: Callable[[tuple[Any, ...]], bool] | None = None


def _k_dimensional(inputs: tuple[Any, ...]) -> bool:
    return isinstance(inputs[0], torch.Tensor) and inputs[0].dim() > 2


def _probability_targets(inputs: tuple[Any, ...]) -> bool:
    return len(inputs) > 1 and isinstance(inputs[1], torch.Tensor) and inputs[1].is_floating_point()


def k_dim_feature(description: str) -> Feature:
    """Scores or input with K trailing dimensions, (N, C, d1, ..., dk)."""
    return Feature("k_dim", description, used_by=_k_dimensional)


PROBABILITY_TARGETS_FEATURE = Feature(
    "probability_targets",
    "class-probability targets, same shape as the scores",
    used_by=_probability_targets,
)


@dataclass(frozen=True)
class Bounds:
    """Arguments for ``verify.tolerances.assert_close`` for a case's value and gradient."""

    value: dict[str, Any]
    gradient: dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """A known convention that differs from the contract: its value on a case (float64)."""

    description: str
    value: Callable[[LossCase], np.ndarray]


@dataclass(frozen=True)
class Edge:
    """A fixed edge case: its name, inputs, and the optional features it needs."""

    name: str
    case: LossCase
    features: tuple[str, ...] = ()


CaseStrategy = Callable[[torch.dtype, frozenset[str], str], st.SearchStrategy[LossCase]]


@dataclass(frozen=True)
class FeatureMatrix:
    """What ``verify check`` exercises of a contract: its optional features, how to draw cases
    for any set of them, how to bound the error of a result (``verify.tolerances`` arguments),
    its edge cases, and which known convention *variants* a deviating implementation may be
    following (diagnosis)."""

    features: tuple[Feature, ...]
    cases: CaseStrategy
    bounds: Callable[[LossCase, np.ndarray], Bounds]
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    edges: Callable[[], list[Edge]] = lambda: []
    # Inputs for finite differences, when the core cases can sit too close to a kink or edge.
    gradcheck_cases: Callable[[torch.dtype], st.SearchStrategy[LossCase]] | None = None
    core_reduction: str = "mean"  # the contract's default reduction: the core case uses it

    def smooth_cases(self, dtype: torch.dtype) -> st.SearchStrategy[LossCase]:
        if self.gradcheck_cases is not None:
            return self.gradcheck_cases(dtype)
        return self.cases(dtype, frozenset(), self.core_reduction)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


@dataclass(frozen=True)
class FormCase:
    """A case for comparing a loss's class form with its functional form (BCE-6): inputs (the
    first is differentiated), constructor/keyword params except the reduction, and the shape of
    the unreduced output (for the cotangents)."""

    inputs: tuple[np.ndarray, ...]
    params: dict[str, Any]
    output_shape: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Contract:
    """The reference semantics of one loss (or normalization), its torch forms, what
    ``verify check`` exercises of it, and its benchmark cases."""

    name: str
    summary: str
    reference: Callable[..., Any]
    gradient: Callable[..., Any]
    params: tuple[Param, ...]
    input_kinds: tuple[str, ...]
    implementations: tuple[Implementation, ...]
    """torch's forms (functional, module); empty only with ``without_torch_form`` saying why."""
    conformance: FeatureMatrix
    benchmark_cases: tuple[Case, ...]
    """What ``benchmarks/`` and ``verify bench`` time (empty: not benchmarked)."""
    without_torch_form: str = ""
    form_cases: Callable[[torch.dtype], st.SearchStrategy[FormCase]] | None = None
    """Cases on which the module form must equal the functional form (BCE-6)."""
    benchmark_builtin: Callable[..., torch.Tensor] | None = None
    """What the benchmarks time as the built-in (default: torch's functional form)."""

    def implementation(self, form: str) -> Implementation:
        """The default implementation of the given form ('functional' or 'module')."""
        for impl in self.implementations:
            if impl.form == form:
                return impl
        raise KeyError(f"contract {self.name!r} has no {form} implementation")

    @property
    def builtin(self) -> Callable[..., torch.Tensor] | None:
        """The callable the benchmarks time as the built-in, if the contract is benchmarked."""
        if not self.benchmark_cases:
            return None
        return self.benchmark_builtin or self.implementation("functional").obj

    @property
    def reductions(self) -> tuple[str | None, ...]:
        """The ``reduction`` keyword's choices, or ``(None,)`` for a contract without one."""
        param = next((p for p in self.params if p.name == "reduction"), None)
        return param.choices if param is not None and param.choices else (None,)


def as_implementation(obj: Any, name: str | None = None) -> Implementation:
    """Normalize a function or an ``nn.Module`` subclass to the calling convention."""
    if isinstance(obj, Implementation):
        return obj
    label = name or f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        return Implementation(label, "module", obj)
    if callable(obj):
        return Implementation(label, "functional", obj)
    raise TypeError(f"{label} is not callable")


def torch_forms(
    functional: Callable[..., Any], module: type[nn.Module]
) -> tuple[Implementation, ...]:
    """torch's functional and module forms of a contract, named as torch spells them."""
    return (
        as_implementation(functional, f"torch.nn.functional.{functional.__name__}"),
        as_implementation(module, f"torch.nn.{module.__name__}"),
    )


def renamed_param(
    oracle: Callable[..., Any], ours: str, theirs: str, default: Any
) -> Callable[..., Any]:
    """``oracle`` taking its parameter ``theirs`` under the contract's name ``ours`` (``default``
    when not given)."""

    def reference(*arrays: Any, **params: Any) -> Any:
        return oracle(*arrays, **{theirs: params.pop(ours, default)}, **params)

    reference.__doc__ = oracle.__doc__
    return reference


def torch_contract(name: str, module: type[nn.Module], **fields: Any) -> Contract:
    """The contract of torch's ``F.<name>`` and ``module``, bound to the oracle
    ``verify.oracles.<name>`` and its VJP; ``fields``: the rest of the ``Contract``."""
    return Contract(
        name=name,
        reference=getattr(oracles, name),
        gradient=getattr(oracles, f"{name}_vjp"),
        implementations=torch_forms(getattr(F, name), module),
        **fields,
    )
