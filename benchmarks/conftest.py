"""pytest configuration of the benchmark suites (pytest-benchmark, CPU and CUDA).

Options:

- ``--bench-smoke``: tiny shapes, for the smoke run in the default ``tox`` (with
  ``--benchmark-disable`` each benchmark runs once, so the suites cannot rot).
- ``--bench-impl NAME=TARGET`` (repeatable): also benchmark TARGET (``module:attr`` or
  ``file.py:attr``) as the implementation of contract NAME, beside the torch built-in, and
  only the cases of those contracts. ``--bench-only-impl`` drops the built-in, and TARGET's
  benchmarks take the built-in's names: ``bench-compare`` then compares TARGET with a baseline
  of the built-in (a replacement kernel, a planted slowdown).

Storage: unless ``--benchmark-storage`` is given, runs are saved under
``.benchmarks/<device kind>/`` (``verify.benchmarking.machine.device_kind``), since
pytest-benchmark's own machine folder does not name the GPU. The machine info saved with a run
gains the device kind, GPU, driver, torch and CUDA versions and the copy bandwidth per device
measured in the same run. The terminal summary adds the table of medians, achieved GB/s and
fraction of copy bandwidth.
"""

from __future__ import annotations

from typing import Any

import pytest

from verify.benchmarking import bench_table, machine
from verify.benchmarking.cases import BUILTINS, CASES
from verify.benchmarking.records import record_from_entry
from verify.loading import TargetError, implementation_option

SMOKE_COPY_BYTES = 2**20
USERS_KEY = pytest.StashKey[dict[str, tuple[str, Any]]]()
_BANDWIDTHS: dict[str, machine.CopyBandwidth] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify-bench", "loss-verify benchmarks")
    group.addoption("--bench-smoke", action="store_true", help="tiny shapes (smoke run)")
    group.addoption(
        "--bench-impl",
        action="append",
        default=[],
        metavar="NAME=TARGET",
        help="benchmark TARGET as contract NAME's implementation, beside the torch built-in",
    )
    group.addoption(
        "--bench-only-impl", action="store_true", help="with --bench-impl: skip the built-in"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_storage", None) == machine.DEFAULT_STORAGE:
        config.option.benchmark_storage = machine.storage_uri()
    config.stash[USERS_KEY] = _user_implementations(config)  # a bad entry: one-line usage error


def _user_implementations(config: pytest.Config) -> dict[str, tuple[str, Any]]:
    chosen = {}
    for entry in config.getoption("bench_impl"):
        try:
            name, target, implementation = implementation_option("--bench-impl", entry, BUILTINS)
        except TargetError as error:
            raise pytest.UsageError(str(error)) from None
        chosen[name] = (target, implementation)
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``case`` and ``implementation`` together: (case, 'torch') for every case,
    plus (case, TARGET) for the cases of a contract given to ``--bench-impl``."""
    if "case" not in metafunc.fixturenames:
        return
    users = metafunc.config.stash[USERS_KEY]
    only = metafunc.config.getoption("bench_only_impl")
    params = []
    for case in CASES:
        if users and case.loss not in users:
            continue
        if not (users and only):
            params.append(pytest.param(case, ("torch", BUILTINS[case.loss]), id=case.id))
        if case.loss in users:
            # Alone, TARGET takes the built-in's id: its run compares with a baseline of it.
            tag = case.id if only else f"{case.id}-impl"
            params.append(pytest.param(case, users[case.loss], id=tag))
    metafunc.parametrize(("case", "implementation"), params)


@pytest.fixture(scope="session")
def smoke(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("bench_smoke"))


@pytest.fixture(scope="session")
def budget(request: pytest.FixtureRequest) -> dict[str, float]:
    """``timing.plan``'s budget from pytest-benchmark's options: about ``--benchmark-max-time``
    seconds per benchmark, at least ``--benchmark-min-rounds`` rounds (10 at the least, so the
    gate's rank test has samples to work with)."""
    config = request.config
    return {
        "max_time_s": float(config.getoption("benchmark_max_time")),
        "min_rounds": max(int(config.getoption("benchmark_min_rounds")), 10),
    }


@pytest.fixture(scope="session")
def copy_bandwidth(smoke: bool):
    """``copy_bandwidth(device)``: the device's copy bandwidth, measured once per run."""

    def measured(device: str) -> machine.CopyBandwidth:
        if device not in _BANDWIDTHS:
            nbytes = SMOKE_COPY_BYTES if smoke else None
            _BANDWIDTHS[device] = machine.copy_bandwidth(device, nbytes=nbytes)
        return _BANDWIDTHS[device]

    return measured


def pytest_report_header(config: pytest.Config) -> str:
    return f"loss-verify: {machine.malloc_note()}"


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    machine_info.update(machine.machine_info())
    machine_info["copy_gbps"] = {device: bw.gbps for device, bw in _BANDWIDTHS.items()}


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    records = [record_from_entry(b.as_dict(include_data=False)) for b in session.benchmarks]
    terminalreporter.write_sep("-", "loss-verify: time against the bandwidth limit")
    terminalreporter.write_line(bench_table.markdown_table(records))
