"""Loss contracts: one module per contract (``verify.contracts.<name>``), registered here.

Each contract module defines ``CONTRACT`` (a ``verify.contracts.contract.Contract``): the
loss's parameters and input kinds, its oracle binding (reference, gradient), what
``verify check`` exercises of it (``FeatureMatrix``: features, case strategies, bounds, edge
cases, diagnosis variants), its torch functional and module forms, the cases on which those
forms must agree (BCE-6), and its benchmark cases. What several contracts share is in
``verify.contracts.families``.

``CONTRACTS`` is built from ``CONTRACT_MODULES`` (the order ``verify contracts`` lists them);
``tests/test_contracts.py`` fails when a module of the package is missing from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from hypothesis import strategies as st

from verify.contracts.contract import Bounds as Bounds
from verify.contracts.contract import Contract as Contract
from verify.contracts.contract import Edge as Edge
from verify.contracts.contract import Feature as Feature
from verify.contracts.contract import FeatureMatrix as FeatureMatrix
from verify.contracts.contract import FormCase as FormCase
from verify.contracts.contract import Implementation as Implementation
from verify.contracts.contract import Param as Param
from verify.contracts.contract import Variant as Variant
from verify.contracts.contract import as_implementation as as_implementation

CONTRACT_MODULES: tuple[str, ...] = (
    "cross_entropy",
    "nll_loss",
    "log_softmax",
    "softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
)

CONTRACTS: dict[str, Contract] = {
    name: importlib.import_module(f"verify.contracts.{name}").CONTRACT for name in CONTRACT_MODULES
}

FORMS = ("functional", "module")


def get(name: str) -> Contract:
    """The contract called ``name``; KeyError listing the known contracts otherwise."""
    try:
        return CONTRACTS[name]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"unknown contract {name!r}; known: {known}") from None


def is_torch_form(impl: Any) -> bool:
    """Whether ``impl`` is one of torch's own forms of some contract (specs demand what only
    torch does, such as its warnings, of those alone)."""
    obj = getattr(impl, "obj", None)
    return any(obj is i.obj for c in CONTRACTS.values() for i in c.implementations)


class ClassForm(NamedTuple):
    """A loss's module form beside its functional form, for BCE-6 ("every loss's class form
    equals its functional form")."""

    contract: str
    functional: Callable[..., torch.Tensor]
    module: type[torch.nn.Module]
    cases: Callable[[torch.dtype], st.SearchStrategy[FormCase]]
    reductions: tuple[str | None, ...]  # each case is checked under each; (None,): no keyword


def class_forms() -> list[ClassForm]:
    """Every contract with torch forms, in registry order: its functional and module forms,
    its form cases, and its reductions (the ``reduction`` parameter's choices, in order)."""
    return [
        ClassForm(
            c.name,
            c.implementation("functional").obj,
            c.implementation("module").obj,
            c.form_cases,
            c.reductions,
        )
        for c in CONTRACTS.values()
        if c.implementations and c.form_cases is not None
    ]
