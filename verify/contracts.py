"""Loss contracts: the reference semantics of each loss, and the implementations tested by default.

A contract names a loss, its float64 oracle and analytic gradient (``verify.oracles``), its
parameters with their domains (spelled as PyTorch spells them), and the input kinds it accepts.
Its ``implementations`` are what the specs test when nobody points them at anything else: the
torch functional form and the ``nn.Module`` form.

Calling convention: an implementation is ``fn(*inputs, **params) -> Tensor`` (for a loss,
``fn(input, target, **params)``). An ``nn.Module`` subclass is instantiated with the params and
called with the inputs; ``as_implementation`` turns either into the same kind of callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from verify import oracles
from verify.oracles import focal, regression
from verify.oracles.divergence import KL_REDUCTIONS
from verify.oracles.reduction import REDUCTIONS


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
class Contract:
    """The reference semantics of one loss (or normalization) and its default implementations."""

    name: str
    summary: str
    reference: Callable[..., Any]
    gradient: Callable[..., Any]
    params: tuple[Param, ...]
    input_kinds: tuple[str, ...]
    implementations: tuple[Implementation, ...]

    def implementation(self, form: str) -> Implementation:
        """The default implementation of the given form ('functional' or 'module')."""
        for impl in self.implementations:
            if impl.form == form:
                return impl
        raise KeyError(f"contract {self.name!r} has no {form} implementation")


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


def is_torch_form(impl: Any) -> bool:
    """Whether ``impl`` is one of torch's own forms of some contract (specs demand what only
    torch does, such as its warnings, of those alone)."""
    obj = getattr(impl, "obj", None)
    return any(obj is i.obj for c in CONTRACTS.values() for i in c.implementations)


def _torch_forms(
    functional: Callable[..., Any], module: type[nn.Module]
) -> tuple[Implementation, ...]:
    return (
        as_implementation(functional, f"torch.nn.functional.{functional.__name__}"),
        as_implementation(module, f"torch.nn.{module.__name__}"),
    )


def _along_dim(oracle: Callable[..., Any]) -> Callable[..., Any]:
    """An axis-taking oracle under PyTorch's parameter name ``dim``."""

    def reference(*arrays: Any, dim: int = 1) -> Any:
        return oracle(*arrays, axis=dim)

    reference.__doc__ = oracle.__doc__
    return reference


_REDUCTION = Param("reduction", "mean", "one of 'none', 'mean', 'sum'", REDUCTIONS)
_CLASS_WEIGHT = Param("weight", None, "None or a positive (C,) tensor of class weights")
_IGNORE_INDEX = Param("ignore_index", -100, "an integer; targets equal to it are ignored")
_DIM = Param("dim", 1, "the class axis")

CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract(
            "cross_entropy",
            "−Σ_c A_c log softmax(x)_c per position (see verify.oracles.categorical)",
            oracles.cross_entropy,
            oracles.cross_entropy_vjp,
            (
                _CLASS_WEIGHT,
                _IGNORE_INDEX,
                _REDUCTION,
                Param("label_smoothing", 0.0, "a float in [0, 1]"),
            ),
            ("class indices (N,)", "class indices (N, d1..dk)", "probabilities (N, C, d1..dk)"),
            _torch_forms(F.cross_entropy, nn.CrossEntropyLoss),
        ),
        Contract(
            "nll_loss",
            "−w_{y}·input[y] per position; 'mean' divides by the summed target weights",
            oracles.nll_loss,
            oracles.nll_loss_vjp,
            (_CLASS_WEIGHT, _IGNORE_INDEX, _REDUCTION),
            ("class indices (N,)", "class indices (N, d1..dk)"),
            _torch_forms(F.nll_loss, nn.NLLLoss),
        ),
        Contract(
            "log_softmax",
            "x − logsumexp(x) along dim",
            _along_dim(oracles.log_softmax),
            _along_dim(oracles.log_softmax_vjp),
            (_DIM,),
            ("scores (N, C, d1..dk)",),
            _torch_forms(F.log_softmax, nn.LogSoftmax),
        ),
        Contract(
            "softmax",
            "exp(x) / Σ exp(x) along dim",
            _along_dim(oracles.softmax),
            _along_dim(oracles.softmax_vjp),
            (_DIM,),
            ("scores (N, C, d1..dk)",),
            _torch_forms(F.softmax, nn.Softmax),
        ),
        Contract(
            "binary_cross_entropy",
            "−w·(y·log p + (1−y)·log(1−p)), each log clamped at −100",
            oracles.binary_cross_entropy,
            oracles.binary_cross_entropy_vjp,
            (Param("weight", None, "None or a tensor broadcastable to the input"), _REDUCTION),
            ("probabilities, any shape",),
            _torch_forms(F.binary_cross_entropy, nn.BCELoss),
        ),
        Contract(
            "binary_cross_entropy_with_logits",
            "−w·(pw·y·log σ(x) + (1−y)·log σ(−x))",
            oracles.binary_cross_entropy_with_logits,
            oracles.binary_cross_entropy_with_logits_vjp,
            (
                Param("weight", None, "None or a tensor broadcastable to the input"),
                Param(
                    "pos_weight", None, "None or a positive tensor broadcast along the last axis"
                ),
                _REDUCTION,
            ),
            ("logits, any shape",),
            _torch_forms(F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss),
        ),
        Contract(
            "kl_div",
            "t·(log t − input) pointwise (exp(s)·(s − input) with log_target)",
            oracles.kl_div,
            oracles.kl_div_vjp,
            (
                Param(
                    "reduction", "mean", "one of 'none', 'mean', 'sum', 'batchmean'", KL_REDUCTIONS
                ),
                Param("log_target", False, "bool", (False, True)),
            ),
            ("log-probabilities and probabilities, any shape",),
            _torch_forms(F.kl_div, nn.KLDivLoss),
        ),
    )
}

_ELEMENTWISE = ("input and target of the same shape",)


def _softmax_focal_reference(oracle: Callable[..., Any]) -> Callable[..., Any]:
    """The softmax focal oracle under the contract's name ``alpha`` for the per-class weights."""

    def reference(*arrays: Any, alpha: Any = None, **params: Any) -> Any:
        return oracle(*arrays, weight=alpha, **params)

    reference.__doc__ = oracle.__doc__
    return reference


CONTRACTS.update(
    {
        c.name: c
        for c in (
            Contract(
                "mse_loss",
                "(input − target)², reduced",
                regression.mse_loss,
                regression.mse_loss_vjp,
                (_REDUCTION,),
                _ELEMENTWISE,
                _torch_forms(F.mse_loss, nn.MSELoss),
            ),
            Contract(
                "l1_loss",
                "|input − target|, reduced",
                regression.l1_loss,
                regression.l1_loss_vjp,
                (_REDUCTION,),
                _ELEMENTWISE,
                _torch_forms(F.l1_loss, nn.L1Loss),
            ),
            Contract(
                "smooth_l1_loss",
                "0.5·d²/β where |d| < β, else |d| − 0.5·β",
                regression.smooth_l1_loss,
                regression.smooth_l1_loss_vjp,
                (_REDUCTION, Param("beta", 1.0, "a float ≥ 0 (0 is L1)")),
                _ELEMENTWISE,
                _torch_forms(F.smooth_l1_loss, nn.SmoothL1Loss),
            ),
            Contract(
                "huber_loss",
                "0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)",
                regression.huber_loss,
                regression.huber_loss_vjp,
                (_REDUCTION, Param("delta", 1.0, "a float > 0")),
                _ELEMENTWISE,
                _torch_forms(F.huber_loss, nn.HuberLoss),
            ),
            Contract(
                "sigmoid_focal_loss",
                "α_t·(1 − p_t)^γ·BCEWithLogits(x, y) (Lin et al. 2017; torchvision's signature)",
                focal.sigmoid_focal_loss,
                focal.sigmoid_focal_loss_vjp,
                (
                    Param(
                        "alpha", 0.25, "α_t = α for positives, 1 − α for negatives; < 0 disables"
                    ),
                    Param("gamma", 2.0, "a float ≥ 0"),
                    Param("reduction", "none", "one of 'none', 'mean', 'sum'", REDUCTIONS),
                ),
                ("logits and targets in [0, 1] of the same shape",),
                (),  # torch has none; torchvision.ops.sigmoid_focal_loss is one to check
            ),
            Contract(
                "softmax_focal_loss",
                "−α_y·(1 − p_y)^γ·log p_y per position, NLL's weighting and reductions",
                _softmax_focal_reference(focal.softmax_focal_loss),
                _softmax_focal_reference(focal.softmax_focal_loss_vjp),
                (
                    Param("gamma", 2.0, "a float ≥ 0"),
                    Param("alpha", None, "None or per-class weights (C,)"),
                    _IGNORE_INDEX,
                    _REDUCTION,
                ),
                ("class indices (N,)", "class indices (N, d1..dk)"),
                (),
            ),
        )
    }
)

FORMS = ("functional", "module")


def get(name: str) -> Contract:
    """The contract called ``name``; KeyError listing the known contracts otherwise."""
    try:
        return CONTRACTS[name]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"unknown contract {name!r}; known: {known}") from None
