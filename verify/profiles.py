"""Hypothesis profiles: ``dev`` (fast), ``ci`` (default; derandomized), ``random`` and
``thorough``.

Select one with pytest's ``--hypothesis-profile NAME`` or the environment variable
``VERIFY_HYPOTHESIS_PROFILE``; without either, ``ci`` is loaded.

- ``ci`` is derandomized: every run draws the same examples, so a failure on CI reproduces
  anywhere with the same code. It keeps no example database (there is nothing to replay).
- ``random`` is ``ci`` with fresh examples each run: the way to look for what the fixed
  examples miss. ``dev`` and ``thorough`` draw fresh examples too, and keep Hypothesis'
  example database in ``.hypothesis/`` so a failure found once is replayed first next time.
- Seeds (``verify.plugin``): a run of a random profile draws one seed, shows it in the header
  and, when a test failed, prints ``--hypothesis-seed=N`` to rerun it; ``--hypothesis-seed N``
  pins it, under any profile (a derandomized one is then run from that seed instead).

Derandomized examples depend only on the test and the Hypothesis version: Hypothesis also
draws, now and then, constants written in the source of "local" modules (not installed, not
test files), and which of those a process has imported by then depends on the order xdist ran
the tests in, on whether ``verify`` is installed or checked out, and on any edit to those
modules; that pool is emptied here, on import (``_without_local_constants``).

No profile has a deadline: the first call of a PyTorch op (CUDA context, kernel load, lazy
initialisation) can take far longer than the rest, and a deadline would make that flaky.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_ENV = "VERIFY_HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "ci"
PROFILES = ("dev", "ci", "random", "thorough")

# Every profile starts from Hypothesis' "default" profile, not from whatever is loaded: when the
# environment variable CI is set, Hypothesis loads its own derandomized, database-less "ci"
# profile at import, and profiles registered without a parent would silently inherit that.
_BASE = settings.get_profile("default")
_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("dev", _BASE, max_examples=10, **_COMMON)
settings.register_profile("ci", _BASE, max_examples=30, derandomize=True, database=None, **_COMMON)
settings.register_profile("random", _BASE, max_examples=30, database=None, **_COMMON)
settings.register_profile("thorough", _BASE, max_examples=2000, **_COMMON)


def _without_local_constants() -> None:
    """Empty Hypothesis' pool of constants from local modules (a private hook of Hypothesis
    6.1xx, pinned in tox.ini; left alone where it is absent)."""
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    if hasattr(providers, "_get_local_constants"):
        empty = Constants()
        providers._get_local_constants = lambda: empty


_without_local_constants()


def selected_profile(cli_choice: str | None) -> str:
    """The profile to load: the command line's, else the environment's, else ``ci``."""
    return cli_choice or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE


def without_shrinking(name: str) -> str:
    """The profile ``name`` with shrinking off (``verify check``'s claim stage), except
    ``thorough``, the budget a user raises to get shrunk claim counterexamples too."""
    return name if name == "thorough" else f"{name}-unshrunk"


for _name in PROFILES:
    _parent = settings.get_profile(_name)
    if without_shrinking(_name) != _name:
        settings.register_profile(
            without_shrinking(_name),
            _parent,
            phases=[p for p in _parent.phases if p is not Phase.shrink],
        )


def is_random(name: str) -> bool:
    """Whether profile ``name`` draws fresh examples each run (it is not derandomized)."""
    return not settings.get_profile(name).derandomize


def seeded(name: str) -> str:
    """The profile to load when a seed is given: ``name``, or for a derandomized profile (which
    would ignore the seed) a copy of it that is not derandomized, registered on first use."""
    if is_random(name):
        return name
    copy = f"{name}-seeded"
    settings.register_profile(copy, parent=settings.get_profile(name), derandomize=False)
    return copy
