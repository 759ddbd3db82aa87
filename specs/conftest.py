"""Names the running spec in every failure message (``verify.checks``): its claim id(s), the
implementation and parameters it runs with, and its device and dtype."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from verify import checks
from verify.devices import dtype_name


def failure_context(item: pytest.Item) -> checks.Context:
    """The ``verify.checks.Context`` of a collected spec, from its marker and parameters."""
    marker = item.get_closest_marker("claim")
    callspec = getattr(item, "callspec", None)
    params = dict(callspec.params) if callspec else {}
    device, dtype = params.pop("device", "-"), params.pop("dtype", None)
    forms = {k: v for k, v in params.items() if callable(v)}
    settings = {k: v for k, v in params.items() if k not in forms and k != "data"}
    return checks.Context(
        claim=", ".join(marker.args) if marker else "-",
        implementation=_implementation_id(callspec.id if callspec else "", str(device), dtype),
        params=", ".join(f"{k}={v!r}" for k, v in settings.items()) or "-",
        device=str(device),
        dtype=dtype_name(dtype) if isinstance(dtype, torch.dtype) else "-",
    )


def _implementation_id(test_id: str, device: str, dtype: object) -> str:
    """The parameter id without its device and dtype: the forms under test (``functional``,
    ``module``, ``impl`` for ``--impl``, ``torchvision-style``, …) and any further ids."""
    prefix = [device, dtype_name(dtype)] if isinstance(dtype, torch.dtype) else [device]
    parts = test_id.split("-")
    return "-".join(parts[len(prefix) :] if parts[: len(prefix)] == prefix else parts) or "-"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with checks.running(failure_context(item)):
        return (yield)
