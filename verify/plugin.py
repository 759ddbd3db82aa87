"""The pytest plugin (entry point ``pytest11: verify``): devices, dtypes, implementations, claims.

What it adds to any pytest run:

- **Device parametrization.** A test with a ``device`` argument runs once per device in
  ``verify.devices.DEVICES`` (ids ``cpu``, ``cuda``); an absent device is collected and skipped
  with the reason "CUDA not available". ``--device`` restricts the set.
- **Dtype parametrization.** A test with a ``dtype`` argument runs once per floating dtype, or
  per dtype named in ``@pytest.mark.dtypes(...)``; ``--dtype`` restricts the set.
- **Implementations.** A test argument named after a contract (``cross_entropy``,
  ``nll_loss``, ...) receives that contract's implementations: all contract arguments of one
  test take the same form together (ids ``functional`` and ``module``; the module form in one
  dtype only, float64 where the spec runs in it: BCE-6 proves it equal to the functional
  form in every dtype). ``--impl
  NAME=TARGET`` (repeatable) puts a user's implementation in place of contract NAME's (id
  ``impl``), and deselects the specs that do not involve any such contract, and those marked
  ``implementation_detail`` (they pin a property of torch's own implementation, not of the
  contract). In the specs, a user's implementation that declines a feature (TypeError on the
  keyword, NotImplementedError, any error on an input kind: ``Declining``) makes the case skip
  as "unsupported: ..."; ``--impl-supports
  NAME=FEATURE,...`` declares features that must not be declined.
  ``@pytest.mark.implementations("name", {"id": fn, ...})`` gives a spec its own default
  implementations of one contract argument (where torch has none, or only one form applies);
  ``--impl`` replaces them too. A test argument
  ``conformance_target`` receives ``(contract name, implementation)`` pairs: the ``--impl``
  ones, or by default the torch functional form of every contract that torch implements.
- **Claims.** ``@pytest.mark.claim("CE-1")`` ties a test to a catalogue claim (unknown ids are
  a usage error). ``--verify-results PATH`` writes each claim test's outcome, device, dtype,
  worst error against its tolerance and notes as JSON, which ``verify claims`` turns into its
  table.
- **Hypothesis profiles** (``verify.profiles``): ``ci`` unless ``--hypothesis-profile`` or
  ``VERIFY_HYPOTHESIS_PROFILE`` says otherwise. ``--hypothesis-seed N`` is honoured under
  every profile; a random profile's run draws a seed, shows it in the header and, when a test
  failed, prints the option that reruns it.
- **Progress.** ``--verify-progress PATH`` appends ``total N`` once collected, then one line
  ``done OUTCOME NODEID`` per finished test, which ``verify claims`` turns into its progress.

Every pytest run in an environment with loss-verify installed loads this plugin, so it imports
nothing heavy itself: ``verify.contracts`` and ``verify.devices`` (torch, SciPy: seconds) are
imported by the hooks that meet a test using them; option choices and contract names come
from ``verify.preflight`` and ``verify.listing``.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from verify import claims, listing, preflight, profiles, recording
from verify.loading import TargetError, implementation_option

if TYPE_CHECKING:
    from verify import contracts

CLAIMS_KEY, DEVICE_KEY, DTYPE_KEY, OBSERVATION_KEY = (
    "verify_claims",
    "verify_device",
    "verify_dtype",
    "verify_observation",
)

PROFILE_KEY = pytest.StashKey[str]()
SEED_KEY = pytest.StashKey["str | None"]()
IMPLS_KEY = pytest.StashKey["dict[str, contracts.Implementation]"]()
SUPPORTS_KEY = pytest.StashKey[dict[str, frozenset[str]]]()
UNSUPPORTED = "unsupported: "  # the skip reason of a declined call (verify.conformance.claims)
# Declines that need no check of `verify check` to confirm them (verify.conformance.claims):
# an explicit NotImplementedError (for a combination of features, say), and a second-order
# check of an implementation without double backward (verify.checks.check_gradients).
NOT_IMPLEMENTED = f"{UNSUPPORTED}NotImplementedError"
NO_DOUBLE_BACKWARD = f"{UNSUPPORTED}no double backward"
_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")
_SPEC_ARGUMENTS = frozenset(("device", "dtype", "conformance_target", *listing.load()))
"""Test arguments this plugin parametrizes: a test with none of them needs nothing of torch."""


@dataclass(frozen=True)
class Declining:
    """A user's implementation as the specs call it: a call that needs a feature it declines
    (a keyword it does not take, NotImplementedError, a ValueError naming a keyword passed, an
    assertion of its own on a call with keywords, any error on a call that uses an input kind
    such as probability targets) skips the case as unsupported, unless the feature was
    declared supported."""

    impl: contracts.Implementation
    params: frozenset[str]  # the contract's keyword parameters
    declared: frozenset[str]  # keywords declared supported
    kinds: tuple[contracts.Feature, ...] = ()  # input kinds not declared: any error declines

    @property
    def __name__(self) -> str:
        return self.impl.name

    def __call__(self, *inputs: Any, **params: Any) -> Any:
        try:
            return self._call(*inputs, **params)
        except Exception as error:
            kind = next((f.name for f in self.kinds if f.used_by and f.used_by(inputs)), None)
            if kind is None:
                raise
            pytest.skip(f"{UNSUPPORTED}{kind}: {type(error).__name__}: {str(error)[:200]}")

    def _call(self, *inputs: Any, **params: Any) -> Any:
        try:
            return self.impl(*inputs, **params)
        except TypeError as error:
            match = _KEYWORD.search(str(error))
            keyword = match[1] if match else None
            if keyword in self.params and keyword in params and keyword not in self.declared:
                pytest.skip(f"{UNSUPPORTED}declines the keyword {keyword!r}")
            raise
        except NotImplementedError as error:
            pytest.skip(f"{NOT_IMPLEMENTED}: {str(error)[:200]}")
        except (ValueError, AssertionError) as error:  # a refusal of a keyword's value
            named = [k for k in params if k in self.params and k not in self.declared]
            if isinstance(error, ValueError):
                named = [k for k in named if k in str(error)]
            if not named:
                raise
            pytest.skip(f"{UNSUPPORTED}{type(error).__name__} for {named[0]}: {str(error)[:200]}")


def _user_implementations(config: pytest.Config) -> dict[str, contracts.Implementation]:
    chosen: dict[str, contracts.Implementation] = {}
    entries = config.getoption("impl") or []
    if entries:
        from verify import contracts
    for entry in entries:
        try:
            name, _, implementation = implementation_option("--impl", entry, contracts.CONTRACTS)
        except TargetError as error:
            raise pytest.UsageError(str(error)) from None
        chosen[name] = implementation
    return chosen


def _declared(config: pytest.Config) -> dict[str, frozenset[str]]:
    """``--impl-supports NAME=FEATURE,...`` as the keyword parameters each feature uses (an
    input kind, which has none, by its name)."""
    declared = {}
    for entry in config.getoption("impl_supports") or []:
        name, sep, features = entry.partition("=")
        if not sep or name not in listing.load():
            raise pytest.UsageError(f"--impl-supports {entry!r}: expected NAME=FEATURE,...")
        from verify import contracts

        matrix = contracts.get(name).conformance
        known = {f.name: f.param for f in matrix.features}
        unknown = [f for f in features.split(",") if f and f not in known]
        if unknown:
            raise pytest.UsageError(f"--impl-supports {entry!r}: unknown feature(s) {unknown}")
        # keywords, and the names of input kinds (which have none)
        declared[name] = frozenset(known[f] or f for f in features.split(",") if f)
    return declared


def _as_declining(config: pytest.Config, name: str) -> Declining:
    from verify import contracts

    contract = contracts.get(name)
    declared = config.stash[SUPPORTS_KEY].get(name, frozenset())
    return Declining(
        config.stash[IMPLS_KEY][name],
        frozenset(p.name for p in contract.params),
        declared,
        tuple(f for f in contract.conformance.features if f.used_by and f.name not in declared),
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify", "loss-verify: devices, dtypes and claims")
    group.addoption(
        "--device",
        action="append",
        choices=[*preflight.DEVICE_NAMES, "all"],
        help="run specs on this device only (repeatable; default: all, absent ones skipped)",
    )
    group.addoption(
        "--dtype",
        action="append",
        choices=preflight.DTYPE_NAMES,
        help="run specs in this floating dtype only (repeatable; default: all)",
    )
    group.addoption(
        "--impl",
        action="append",
        metavar="NAME=TARGET",
        help="test TARGET (module:attr or file.py:attr) as the implementation of contract NAME",
    )
    group.addoption(
        "--impl-supports",
        action="append",
        metavar="NAME=FEATURE,...",
        help="features the --impl implementation of NAME declares: a call needing them must run",
    )
    group.addoption(
        "--verify-results",
        metavar="PATH",
        help="write the outcome of every claim test (with errors and notes) to PATH as JSON",
    )
    group.addoption(
        "--verify-progress",
        metavar="PATH",
        help="append 'total N', then 'done OUTCOME NODEID' per finished test, to PATH",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """A run of a random profile without ``--hypothesis-seed`` gets one drawn here, before
    Hypothesis' plugin reads the option (and before xdist hands the options to its workers),
    so that the seed can be shown and a failure rerun."""
    profile = profiles.selected_profile(config.getoption("hypothesis_profile", None))
    if config.getoption("hypothesis_seed", None) is None and profiles.is_random(profile):
        config.option.hypothesis_seed = str(random.randrange(2**32))


@pytest.hookimpl(trylast=True)  # after Hypothesis' plugin, which loads --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(*ids): the catalogue claim(s) this spec verifies")
    config.addinivalue_line("markers", "dtypes(*dtypes): the floating dtypes this spec runs in")
    config.addinivalue_line(
        "markers",
        "implementations(name, {id: fn}): this spec's default implementations of contract "
        "argument NAME (--impl replaces them)",
    )
    config.addinivalue_line(
        "markers",
        "implementation_detail(reason): pins a property of torch's own implementation, not of "
        "the contract; not run on --impl implementations",
    )
    profile = profiles.selected_profile(config.getoption("hypothesis_profile", None))
    seed = config.getoption("hypothesis_seed", None)
    settings.load_profile(profiles.seeded(profile) if seed is not None else profile)
    config.stash[PROFILE_KEY] = profile
    config.stash[SEED_KEY] = seed
    config.stash[IMPLS_KEY] = _user_implementations(config)
    config.stash[SUPPORTS_KEY] = _declared(config)
    if hasattr(config, "workerinput"):
        return  # the xdist controller (or a plain run) writes results and progress
    path = config.getoption("verify_results")
    if path:
        config.pluginmanager.register(ResultsWriter(Path(path)), "verify-results-writer")
    path = config.getoption("verify_progress")
    if path:
        config.pluginmanager.register(ProgressWriter(Path(path)), "verify-progress-writer")


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = config.stash[SEED_KEY]
    seeded = f", seed {seed}" if seed is not None else ""
    return [f"verify: hypothesis profile {config.stash[PROFILE_KEY]!r}{seeded}"]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    """The devices and whether each is present, once the collected tests imported torch."""
    if "torch" not in sys.modules:
        return []
    from verify import devices

    present = ", ".join(
        d if devices.is_available(d) else f"{d} ({devices.unavailable_reason(d)})"
        for d in selected_devices(config)
    )
    return [f"verify: devices {present}"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    seed = config.stash.get(SEED_KEY, None)
    if seed is not None and terminalreporter.stats.get("failed"):
        terminalreporter.write_line(
            f"verify: examples drawn from seed {seed}; rerun with --hypothesis-seed={seed} "
            f"--hypothesis-profile={config.stash[PROFILE_KEY]}"
        )


def selected_devices(config: pytest.Config) -> tuple[str, ...]:
    chosen = config.getoption("device") or ["all"]
    every = preflight.DEVICE_NAMES
    return every if "all" in chosen else tuple(d for d in every if d in chosen)


def _device_params(config: pytest.Config) -> list[Any]:
    from verify import devices

    params = []
    for device in selected_devices(config):
        reason = devices.unavailable_reason(device)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(device, marks=marks, id=device))
    return params


def _dtype_params(metafunc: pytest.Metafunc) -> list[Any]:
    from verify import devices

    marker = metafunc.definition.get_closest_marker("dtypes")
    wanted = marker.args if marker else devices.FLOATING_DTYPES
    chosen = metafunc.config.getoption("dtype")
    if chosen:
        wanted = tuple(d for d in wanted if devices.dtype_name(d) in chosen)
    return [pytest.param(d, id=devices.dtype_name(d)) for d in wanted]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if _SPEC_ARGUMENTS.isdisjoint(names):
        return
    from verify import contracts

    if "device" in names:
        metafunc.parametrize("device", _device_params(metafunc.config))
    _parametrize_contract_arguments(metafunc)
    if "conformance_target" in names:
        targets = metafunc.config.stash[IMPLS_KEY] or {
            n: contracts.get(n).implementation("functional")
            for n in contracts.CONTRACTS
            if contracts.get(n).implementations  # torch has no focal loss to check by default
        }
        metafunc.parametrize(
            "conformance_target", [pytest.param((n, i), id=n) for n, i in targets.items()]
        )


def _own_implementations(metafunc: pytest.Metafunc) -> dict[str, dict[str, Any]]:
    return {
        marker.args[0]: marker.args[1]
        for marker in metafunc.definition.iter_markers("implementations")
    }


def _explicitly_parametrized(metafunc: pytest.Metafunc) -> set[str]:
    return {
        name.strip()
        for marker in metafunc.definition.iter_markers("parametrize")
        for name in (
            marker.args[0].split(",") if isinstance(marker.args[0], str) else marker.args[0]
        )
    }


def _parametrize_contract_arguments(metafunc: pytest.Metafunc) -> None:
    """Contract arguments not parametrized explicitly: the user's implementation (id
    ``impl``, the others torch's functional form), else the spec's own (``implementations``
    marker), else torch's forms together (ids ``functional`` and ``module``)."""
    from verify import contracts

    own = _own_implementations(metafunc)
    users = metafunc.config.stash[IMPLS_KEY]
    names = [
        n
        for n in metafunc.fixturenames
        if n in contracts.CONTRACTS
        and n not in _explicitly_parametrized(metafunc)
        and (n in own or n in users or contracts.get(n).implementations)
    ]
    torch_forms = [n for n in names if n not in own and n not in users]
    mine = [n for n in names if n in users]
    if mine:
        _parametrize_dtype(metafunc)
        values = [_as_declining(metafunc.config, n) for n in mine]
        values += [contracts.get(n).implementation("functional") for n in torch_forms]
        metafunc.parametrize(mine + torch_forms, [pytest.param(*values, id="impl")])
    elif torch_forms:
        _parametrize_dtype_and_torch_forms(metafunc, torch_forms)
    else:
        _parametrize_dtype(metafunc)
    for name in names:
        if name in own and name not in users:
            metafunc.parametrize(name, [pytest.param(v, id=k) for k, v in own[name].items()])


def _parametrize_dtype(metafunc: pytest.Metafunc) -> None:
    if "dtype" in metafunc.fixturenames:
        metafunc.parametrize("dtype", _dtype_params(metafunc))


def _parametrize_dtype_and_torch_forms(metafunc: pytest.Metafunc, torch_forms: list[str]) -> None:
    """Torch's functional forms in every dtype of the spec, its module forms in one: float64
    where the spec runs in it, else its first dtype. A module's forward calls the functional
    with the arguments it stored, so the same kernel runs whatever the dtype, and BCE-6 proves
    the two forms bitwise equal in every dtype; running every spec's module form in every
    dtype again would repeat that proof at several times its cost."""
    from verify import contracts

    forms = {
        form: pytest.param(*(contracts.get(n).implementation(form) for n in torch_forms), id=form)
        for form in contracts.FORMS
    }
    if "dtype" not in metafunc.fixturenames:
        metafunc.parametrize(torch_forms, list(forms.values()))
        return
    dtypes = {p.id: p.values[0] for p in _dtype_params(metafunc)}  # id: the dtype's name
    module_dtype = "float64" if "float64" in dtypes else next(iter(dtypes), None)
    sets = [
        pytest.param(dtype, *forms[form].values, id=f"{name}-{form}")
        for name, dtype in dtypes.items()
        for form in contracts.FORMS
        if form == "functional" or name == module_dtype
    ]
    metafunc.parametrize(["dtype", *torch_forms], sets)


def _claim_ids(item: pytest.Item) -> list[str]:
    return [claim_id for marker in item.iter_markers("claim") for claim_id in marker.args]


def _involves_user_implementation(item: pytest.Item, users: dict[str, Any]) -> bool:
    arguments = getattr(item, "fixturenames", ())
    if "conformance_target" in arguments:
        return True
    detail = item.get_closest_marker("implementation_detail") is not None
    return not detail and any(n in users for n in arguments)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    users = config.stash[IMPLS_KEY]
    if users:
        keep = [i for i in items if _involves_user_implementation(i, users)]
        dropped = [i for i in items if not _involves_user_implementation(i, users)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    for item in items:
        ids = _claim_ids(item)
        if not ids:
            continue
        unknown = [i for i in ids if i not in claims.BY_ID]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown claim id(s) {', '.join(unknown)}")
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        item.user_properties.append((CLAIMS_KEY, ids))
        item.user_properties.append((DEVICE_KEY, params.get("device", "cpu")))
        if "dtype" in params:  # a torch dtype: torch is imported
            from verify.devices import dtype_name

            item.user_properties.append((DTYPE_KEY, dtype_name(params["dtype"])))


# trylast: inside Hypothesis' own wrapper, which keys each parametrized case by its node id.
@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item):
    _key_by_module(item)
    with recording.observing() as observation:
        yield
    if _claim_ids(item):
        item.user_properties.append((OBSERVATION_KEY, observation.as_dict()))


def _key_by_module(item: pytest.Item) -> None:
    """Key a parametrized Hypothesis test by module and name, not by node id: a node id is a
    path from pytest's rootdir, so the derandomized ``ci`` profile, which seeds each case from
    its key, drew other examples for the installed ``specs`` package than for a checkout."""
    inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
    module = getattr(getattr(item, "module", None), "__name__", None)
    if inner is not None and module and hasattr(inner, "_hypothesis_internal_add_digest"):
        inner._hypothesis_internal_add_digest = f"{module}::{item.name}".encode()


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr)
    return message.strip().splitlines()[0][:300] if message.strip() else "failed"


class ResultsWriter:
    """Collects the reports of claim tests (from every xdist worker) and writes them as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.results: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if CLAIMS_KEY not in properties:
            return
        entry = self.results.setdefault(
            report.nodeid,
            {
                "nodeid": report.nodeid,
                "claims": properties[CLAIMS_KEY],
                "device": properties.get(DEVICE_KEY),
                "dtype": properties.get(DTYPE_KEY),
                "outcome": "passed",
                "message": "",
                "observation": None,
            },
        )
        if OBSERVATION_KEY in properties:
            entry["observation"] = properties[OBSERVATION_KEY]
        if report.skipped:
            entry["outcome"], entry["message"] = "skipped", _skip_reason(report)
        elif report.failed:
            entry["outcome"] = "failed" if report.when == "call" else "error"
            entry["message"] = _failure_message(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(list(self.results.values()), indent=1))


class ProgressWriter:
    """Appends the run's progress to a file as tests finish (from every xdist worker)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed: set[str] = set()

    def _append(self, line: str) -> None:
        with self.path.open("a") as file:
            file.write(line + "\n")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items:  # a plain run; under xdist the controller collects nothing
            self._append(f"total {len(session.items)}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.path.exists():  # every worker collects the same tests: count them once
            self._append(f"total {len(ids)}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed.add(report.nodeid)
        if report.when == "teardown":
            outcome = "failed" if report.nodeid in self.failed else "ok"
            self._append(f"done {outcome} {report.nodeid}")
