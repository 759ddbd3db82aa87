"""Realistic buggy implementations for the OBJ-* specs (``specs/test_objectives.py``).

Each factory builds a hand-written implementation from torch primitives; with no bug
switched on it computes the right thing (the controls in ``test_planted_objectives`` show
the specs accept it), and each switch plants one bug seen in real code.
"""

from __future__ import annotations


def l2_penalty(*, detached=False):
    """(λ/2)Σw²; bug ``detached``: computed on w.detach() (``p.data`` in older code)."""
    return lambda w, lam: lam / 2 * ((w.detach() if detached else w) ** 2).sum()
