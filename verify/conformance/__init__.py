"""The conformance engine: check one implementation against one contract.

``check(fn, "cross_entropy")`` returns a ``Report``. The package, by job:

- ``plan``: which checks run (values per feature, edges, non-contiguous, gradcheck);
- ``evaluation``: calling the implementation, guarded, and comparing with the oracle;
- ``state``: global torch state the implementation must leave alone;
- ``engine``: running planned checks with hypothesis; declined features;
- ``diagnosis``: which known convention a deviating implementation follows;
- ``reproduction``: counterexamples and the snippet that reproduces them;
- ``worker``: the worker process the implementation runs in, and its driver;
- ``claims``: the claim specs with the implementation swapped in (pytest ``--impl``);
- ``known_deviations``: accepted deviations, scoped, that cannot rot;
- ``results``: check results, the report and its verdict;
- ``runner``: ``check`` itself, start to finish.
"""

from verify.conformance.known_deviations import KnownDeviation, read_known_deviations
from verify.conformance.results import CheckResult, Report, conforms, summary
from verify.conformance.runner import DEFAULT_CALL_TIMEOUT_S, LoadError, check

__all__ = [
    "DEFAULT_CALL_TIMEOUT_S",
    "CheckResult",
    "KnownDeviation",
    "LoadError",
    "Report",
    "check",
    "conforms",
    "read_known_deviations",
    "summary",
]
