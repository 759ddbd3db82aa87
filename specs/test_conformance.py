"""Contract conformance: each implementation under test against its contract's checks.

By default the torch functional form of every contract that has one (``verify.contracts``) is
checked; ``pytest --pyargs specs --impl NAME=TARGET`` checks a user's
implementation instead (and the claim specs run with it swapped in). The checks are those of
``verify check`` (``verify.conformance``), one device and dtype per test; the claim specs are
not repeated here because pytest runs them itself.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import settings

from verify import check_report, conformance
from verify.checks import check


@pytest.mark.dtypes(torch.float64, torch.float32)
def test_conforms_to_contract(device, dtype, conformance_target):
    """Values, gradients, features, edge cases, layout and gradcheck match the contract."""
    contract, implementation = conformance_target
    report = conformance.check(
        implementation,
        contract,
        target=implementation.name,
        devices_=(device,),
        dtypes=(dtype,),
        profile=settings.get_current_profile_name(),
        claims=False,
    )
    check(
        conformance.conforms(report),
        f"{contract} conformance",
        check_report.render_text(report),
        "conforms",
    )
