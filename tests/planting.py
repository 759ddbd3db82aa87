"""Running a spec on a planted bug: the scaffolding every ``tests/test_planted_*.py`` shares.

The planted tests call a spec directly, with a hand-written implementation that carries a
planted bug in place of the torch one, and assert that it fails; a control runs the same code
with the bug switched off. A planted bug only has to be found, not minimized: shrinking the
specs' multi-array cases (or an optimizer's trajectory) takes seconds to a minute per bug.
So ``spec_failure`` runs a hypothesis spec as a fresh test without the shrink phase, stops at
the first failing example, and looks at up to ``BUG_SEARCH_EXAMPLES`` examples even under the
10-example ``dev`` profile (a bug that needs, say, a drawn non-uniform weight or a zero in a
drawn target is then found whatever the seed). The spec as collected, its settings and its
module are left untouched.

A spec may come bound, as a ``functools.partial``, to the arguments its planted tests share
(device, dtype, the torch references it compares against); a planted-bug table then names
per row only the arguments that carry the bug (a row's arguments replace bound ones, as in a
call of the partial).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

CPU64 = {"device": "cpu", "dtype": torch.float64}
CPU32 = {"device": "cpu", "dtype": torch.float32}
BUG_SEARCH_EXAMPLES = 100
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
# A planted-bug table: {id: (spec, its arguments, one of them carrying the bug, message)}.
PlantedBugs = dict[str, tuple[Callable[..., Any], dict[str, Any], str]]


def named(*specs: Callable[..., Any]) -> list[Any]:
    """``specs`` as pytest parameters, each with its own name as its id."""
    return [pytest.param(spec, id=spec.__name__) for spec in specs]


def without_shrinking(spec: Callable[..., Any], **overrides: Any) -> Callable[..., Any]:
    """A hypothesis ``spec`` as a fresh test: the loaded profile's settings (ci unless told
    otherwise) without the shrink phase, and the settings ``overrides``.

    The spec's inner test is copied (``settings()`` marks the function it decorates), so the
    copy draws the same examples as the spec under a derandomized profile. Every spec draws
    from ``data``. A spec without hypothesis is returned as it is.
    """
    hypothesis = getattr(spec, "hypothesis", None)
    if hypothesis is None:
        return spec
    inner = hypothesis.inner_test
    body = types.FunctionType(
        inner.__code__, inner.__globals__, inner.__name__, inner.__defaults__, inner.__closure__
    )
    body.__qualname__, body.__kwdefaults__ = inner.__qualname__, inner.__kwdefaults__
    return given(data=st.data())(settings(phases=NO_SHRINK, **overrides)(body))


def failure_of(test: Callable[..., Any], **arguments: Any) -> str:
    """Run ``test`` as it is; return its assertion message, or fail the test if it passed."""
    try:
        test(**arguments)
    except AssertionError as error:
        return str(error)
    except BaseExceptionGroup as group:  # hypothesis found several distinct failures
        assert group.subgroup(AssertionError) is not None, group
        return str(group.exceptions[0])
    pytest.fail(f"{test.__name__} passed although a bug was planted")


def spec_failure(spec: Callable[..., Any], **arguments: Any) -> str:
    """The assertion message of ``spec(**arguments)``, searched for without shrinking.

    A hypothesis spec runs until its first failing example, over up to BUG_SEARCH_EXAMPLES
    examples (the profile's count if larger); any other spec runs once. Fails the test if the
    spec passed.
    """
    if isinstance(spec, partial):
        return spec_failure(spec.func, **{**spec.keywords, **arguments})
    search = without_shrinking(
        spec,
        max_examples=max(settings.default.max_examples, BUG_SEARCH_EXAMPLES),
        report_multiple_bugs=False,
    )
    return failure_of(search, **arguments)


def planted_by(build: Callable[..., Any], argument: str, rows: PlantedBugs) -> PlantedBugs:
    """Planted-bug table rows whose bug the planted builder ``build`` plants: each row
    {id: (spec, switches, message)} passes ``build(**switches)`` to the spec as ``argument``."""
    return {
        bug: (spec, {argument: build(**switches)}, message)
        for bug, (spec, switches, message) in rows.items()
    }


def planted_bug_test(table: PlantedBugs) -> Any:
    """The test of a planted-bug ``table``, {id: (spec, arguments, message)}: for every id, the
    spec fails on the arguments (one of them carries the bug), its failure naming the message.
    Bind it to a ``test_…`` name in the planted module; pytest collects it from there."""

    @pytest.mark.parametrize("bug", list(table))
    def test(bug: str) -> None:
        spec, arguments, message = table[bug]
        failure = spec_failure(spec, **arguments)
        assert message in failure, f"failure names no {message!r}: {failure}"

    return test


def accepted(spec: Callable[..., Any], **arguments: Any) -> None:
    """A control: the hypothesis spec passes on 10 derandomized examples (not shrunk: a
    control that fails only needs its first failing example reported)."""
    if isinstance(spec, partial):
        return accepted(spec.func, **{**spec.keywords, **arguments})
    without_shrinking(spec, max_examples=10, derandomize=True, database=None)(**arguments)
