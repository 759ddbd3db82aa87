"""Hand-written objectives implementations (OBJ-1) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_objectives.py``).
"""

from __future__ import annotations


def l2_penalty(*, detached=False):
    """(λ/2)Σw²; bug ``detached``: computed on w.detach() (``p.data`` in older code)."""
    return lambda w, lam: lam / 2 * ((w.detach() if detached else w) ** 2).sum()
