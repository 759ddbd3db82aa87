"""The objectives specs (OBJ-1, ``specs/test_objectives.py``) fail on the planted bugs of
``tests/planted_objectives.py`` and pass the same code with the bug off (``tests.planting``).
"""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from specs import test_objectives as obj_specs
from tests import planted_objectives as planted
from tests import planted_weight_decay
from tests.planting import CPU64, accepted, spec_failure


@pytest.mark.parametrize(
    ("regularizer", "penalty"),
    [
        ("L2", planted.l2_penalty()),
        ("L1", lambda w, lam: lam * planted_weight_decay.hand_written_l1()(w)),
    ],
    ids=["L2", "L1"],
)
def test_obj1_accepts_hand_written_penalties(regularizer, penalty):
    accepted(
        obj_specs.test_obj1_gradient_of_sum_is_sum_of_gradients,
        **CPU64,
        regularizer=regularizer,
        penalty=penalty,
        cross_entropy=F.cross_entropy,
    )


@pytest.mark.parametrize(
    ("regularizer", "penalty"),
    [
        ("L2", planted.l2_penalty(detached=True)),
        ("L1", lambda w, lam: lam * planted_weight_decay.hand_written_l1(sign_at_zero=1.0)(w)),
    ],
    ids=["detached-l2", "l1-sign-of-zero-is-one"],
)
def test_obj1_catches_planted_penalty_bug(regularizer, penalty):
    failure = spec_failure(
        obj_specs.test_obj1_gradient_of_sum_is_sum_of_gradients,
        **CPU64,
        regularizer=regularizer,
        penalty=penalty,
        cross_entropy=F.cross_entropy,
    )
    assert "∇(loss + R)" in failure or "does not depend on the input" in failure
