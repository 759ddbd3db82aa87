"""Fixtures shared by the self-tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings


@pytest.fixture
def run_pytest(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """``pytester.runpytest_inprocess`` (a pytest process costs seconds of CPU to start),
    leaving this process's Hypothesis profile as it was: the plugin's ``pytest_configure`` of
    the inner run loads the inner run's profile. For runs that collect or stop at a usage error:
    runs that execute specs stay ``runpytest_subprocess`` (in process, what earlier tests left in
    this process can change their results)."""

    def run(*args: str) -> pytest.RunResult:
        profile = settings.get_current_profile_name()
        try:
            return pytester.runpytest_inprocess(*args)
        finally:
            settings.load_profile(profile)

    return run
