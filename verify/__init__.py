"""loss-verify: executable specs for loss functions.

The package holds float64 reference oracles (``verify.oracles``), the loss contracts
(``verify.contracts``), hypothesis strategies (``verify.strategies``), tolerances and comparison
(``verify.tolerances``), devices and dtypes (``verify.devices``), the claim catalogue
(``verify.claims``), the conformance engine (``verify.conformance``), the pytest plugin
(``verify.plugin``) and the ``verify`` command.

Python entry points for validating an implementation::

    from verify import check, assert_conforms
    report = check(my_loss, "cross_entropy")        # a verify.conformance.Report
    assert_conforms(my_loss, "cross_entropy")       # AssertionError with the report if not

``my_loss`` runs in a worker process when it can be loaded there (see ``verify.conformance``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["assert_conforms", "check"]


def check(fn: Any, contract: str, **options: Any) -> Any:
    """Check ``fn`` against ``contract``; see ``verify.conformance.check`` for the options."""
    from verify import conformance

    return conformance.check(fn, contract, **options)


def assert_conforms(fn: Any, contract: str, **options: Any) -> None:
    """Raise AssertionError, with the report as its message, unless ``fn`` conforms."""
    from verify import check_report, conformance

    report = conformance.check(fn, contract, **options)
    if not conformance.conforms(report):
        raise AssertionError(check_report.render_text(report))
