"""The softmax specs (SM-1, SM-2, ``specs/test_softmax.py``) fail on the planted bugs of
``tests/planted_softmax.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

import inspect

import pytest

from specs import test_softmax as sm_specs
from tests import planted_kl_divergence
from tests import planted_softmax as planted
from tests.planting import CPU32, CPU64, spec_failure

SM_SPECS = {
    "values": sm_specs.test_sm1_softmax_and_log_softmax_match_the_oracle,
    "unit-interval": sm_specs.test_sm1_outputs_lie_in_unit_interval_and_sum_to_one,
    "strictly-inside": sm_specs.test_sm1_outputs_strictly_inside_for_moderate_gaps,
    "boundary": sm_specs.test_sm1_outputs_reach_one_and_zero_past_the_boundary,
    "published": sm_specs.test_sm1_published_example,
    "shift": sm_specs.test_sm2_softmax_is_shift_invariant,
    "outside-exp-range": sm_specs.test_sm2_tutorial_softmax_is_nan_outside_the_exp_range,
    "100-0": sm_specs.test_sm2_tutorial_softmax_is_nan_for_100_0_where_softmax_gives_1_0,
}


def _softmax_arguments(spec, softmax, dtype_kw):
    arguments = {**dtype_kw, "softmax": softmax}
    if "log_softmax" in inspect.signature(spec).parameters:
        arguments["log_softmax"] = planted_kl_divergence.manual_log_softmax
    return arguments


@pytest.mark.parametrize("name", list(SM_SPECS))
def test_sm_accepts_the_manual_softmax(name):
    spec = SM_SPECS[name]
    dtype_kw = CPU32 if name == "100-0" else CPU64
    spec(**_softmax_arguments(spec, planted.manual_softmax(), dtype_kw))


@pytest.mark.parametrize(
    ("name", "bug", "dtype_kw", "message"),
    [
        ("values", {"wrong_dim": True}, CPU64, "softmax value"),
        ("unit-interval", {"wrong_dim": True}, CPU64, "Σ softmax"),
        ("strictly-inside", {"half_precision": True}, CPU32, "outputs"),
        ("boundary", {"clamp": 1e-7}, CPU64, "short of the boundary"),
        ("published", {"wrong_dim": True}, CPU64, "published"),
        ("shift", {"subtract_max": False}, CPU64, "softmax(x + c)"),
        ("outside-exp-range", {"subtract_max": False}, CPU64, "past exp's range"),
        ("100-0", {"subtract_max": False}, CPU32, "[1, 0]"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_sm_catches_planted_softmax_bug(name, bug, dtype_kw, message):
    spec = SM_SPECS[name]
    arguments = _softmax_arguments(spec, planted.manual_softmax(**bug), dtype_kw)
    assert message in spec_failure(spec, **arguments)


def test_sm2_tutorial_spec_catches_a_wrong_dim_tutorial(monkeypatch):
    """The spec of the tutorial softmax inside exp's range fails if that softmax is wrong."""
    sm_specs.test_sm2_tutorial_softmax_matches_inside_the_exp_range(**CPU64)
    monkeypatch.setattr(
        sm_specs, "tutorial_softmax", planted.manual_softmax(subtract_max=False, wrong_dim=True)
    )
    failure = spec_failure(sm_specs.test_sm2_tutorial_softmax_matches_inside_the_exp_range, **CPU64)
    assert "tutorial softmax" in failure
