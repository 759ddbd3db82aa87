"""The contracts' signatures, written once for the adapters that take them whole.

An adapter's signature is what it accepts: a parameter absent from it is declined by Python
("unexpected keyword argument"). Where a library takes a contract's parameters whole, its
adapter is ``call(input, target, params)`` under one of these decorators, which give it the
contract's parameters with the contract's defaults (and keep its name and docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from verify.adapters import focal_alpha

Tensor = torch.Tensor


class FocalParams(NamedTuple):
    """``sigmoid_focal_loss``'s parameters; ``alpha`` < 0 means "no α"."""

    alpha: float
    gamma: float
    reduction: str

    @property
    def optional_alpha(self) -> float | None:
        """α as the libraries spell "no α": ``None``."""
        return focal_alpha(self.alpha)


class BCEParams(NamedTuple):
    """``binary_cross_entropy_with_logits``'s parameters."""

    weight: Tensor | None
    pos_weight: Tensor | None
    reduction: str


class CEParams(NamedTuple):
    """``cross_entropy``'s parameters."""

    weight: Tensor | None
    ignore_index: int
    reduction: str
    label_smoothing: float


def _named_as(adapter: Callable[..., Tensor], call: Callable[..., Tensor]) -> Callable[..., Tensor]:
    adapter.__name__ = call.__name__
    adapter.__qualname__ = call.__qualname__
    adapter.__module__ = call.__module__
    adapter.__doc__ = call.__doc__
    return adapter


def sigmoid_focal(call: Callable[[Tensor, Tensor, FocalParams], Tensor]) -> Callable[..., Tensor]:
    """The ``sigmoid_focal_loss`` contract's signature around ``call``."""

    def adapter(
        input: Tensor,
        target: Tensor,
        alpha: float = 0.25,
        gamma: float = 2.0,
        reduction: str = "none",
    ) -> Tensor:
        return call(input, target, FocalParams(alpha, gamma, reduction))

    return _named_as(adapter, call)


def bce_with_logits(call: Callable[[Tensor, Tensor, BCEParams], Tensor]) -> Callable[..., Tensor]:
    """The ``binary_cross_entropy_with_logits`` contract's signature around ``call``."""

    def adapter(
        input: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        pos_weight: Tensor | None = None,
        reduction: str = "mean",
    ) -> Tensor:
        return call(input, target, BCEParams(weight, pos_weight, reduction))

    return _named_as(adapter, call)


def cross_entropy(call: Callable[[Tensor, Tensor, CEParams], Tensor]) -> Callable[..., Tensor]:
    """The ``cross_entropy`` contract's signature (its class-weight, ignore-index, reduction and
    label-smoothing parameters) around ``call``."""

    def adapter(
        input: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> Tensor:
        return call(input, target, CEParams(weight, ignore_index, reduction, label_smoothing))

    return _named_as(adapter, call)
