"""The timing method, the benchmark cases and the machine information, without a GPU.

The CUDA paths (the synchronizing timer, CUDA events, the flush before each call) run here
against ``SimulatedDevice``, an asynchronous device with ``torch.cuda``'s interface: launching
work returns at once and the device runs it in order on its own clock. The tests show what
the method is for: a plain host clock measures the launch, the synchronizing timer and the
events measure the work.
"""

from __future__ import annotations

import configparser
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from verify.benchmarking import cases, machine, runner, timing

KERNEL_S = 0.004
"""A simulated kernel's duration. Sleeps overshoot but never undershoot, so the checks bound
the measured time from below tightly and from above loosely (the machine may be loaded)."""


class SimulatedDevice:
    """An asynchronous device: ``launch(seconds)`` queues work and returns at once."""

    def __init__(self) -> None:
        self.busy_until = time.perf_counter()
        self.synchronizations = 0

    def launch(self, seconds: float) -> None:
        self.busy_until = max(time.perf_counter(), self.busy_until) + seconds

    def synchronize(self) -> None:
        self.synchronizations += 1
        _sleep_until(self.busy_until)

    def Event(self, enable_timing: bool = False) -> SimulatedEvent:
        return SimulatedEvent(self)


class SimulatedEvent:
    """Recorded in stream order: it completes when the device reaches it."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device, self.at = device, None

    def record(self) -> None:
        self.at = max(time.perf_counter(), self.device.busy_until)

    def synchronize(self) -> None:
        _sleep_until(self.at)

    def elapsed_time(self, end: SimulatedEvent) -> float:
        return (end.at - self.at) * 1e3


def _sleep_until(moment: float) -> None:
    while (left := moment - time.perf_counter()) > 0:
        time.sleep(left)


def test_host_clock_measures_the_launch_and_the_synchronizing_timer_the_work():
    device = SimulatedDevice()

    def call():
        device.launch(KERNEL_S)

    device.synchronize()
    start = time.perf_counter()
    call()
    launch = time.perf_counter() - start
    assert launch < KERNEL_S / 4, "a plain host clock measures the launch only"
    timer = timing.synchronizing_timer(device)
    plan = timing.plan(call, timer, max_time_s=0.05, min_rounds=5)
    samples = timing.time_rounds(call, timer, plan)
    assert KERNEL_S * 0.99 <= timing.median(samples) <= 2 * KERNEL_S
    assert device.synchronizations >= 2 * plan.rounds


def test_event_times_read_each_call_and_leave_the_flush_out():
    device = SimulatedDevice()
    flushes = []

    def flush():
        flushes.append(1)
        device.launch(2 * KERNEL_S)

    samples = timing.event_times(lambda: device.launch(KERNEL_S), device, repeats=8, flush=flush)
    assert len(samples) == 8 and len(flushes) == 8
    assert KERNEL_S * 0.99 <= timing.median(samples) <= 2 * KERNEL_S


def test_synchronized_perf_counter_waits_for_queued_cuda_work(monkeypatch):
    device = SimulatedDevice()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", device.synchronize)
    device.launch(KERNEL_S)
    assert timing.synchronized_perf_counter() >= device.busy_until


def test_backend_for_the_cpu_is_synchronous():
    assert timing.backend_for("cpu") is None
    assert timing.synchronizing_timer(None) is time.perf_counter


def test_plan_sizes_rounds_to_the_budget():
    calls = []

    def call():
        calls.append(1)
        time.sleep(0.002)

    plan = timing.plan(call, time.perf_counter, min_round_s=0.005, max_time_s=0.1, min_rounds=3)
    assert plan.single_call_s >= 0.002
    assert plan.iterations == math.ceil(0.005 / plan.single_call_s)  # a round lasts ≥ 5 ms
    assert 3 <= plan.rounds <= math.ceil(0.1 / (plan.iterations * 0.002))
    assert len(calls) == 5  # two untimed warm-up calls, three timed


def test_rotating_copies_cover_twice_the_cache():
    assert timing.rotating_copies(10, 100) == 20
    assert timing.rotating_copies(300, 100) == 1
    assert timing.rotating_copies(1, 10**9) == 64  # capped
    rotation = timing.Rotation([("a",), ("b",)])
    assert [rotation.next() for _ in range(3)] == [("a",), ("b",), ("a",)]
    with pytest.raises(ValueError):
        timing.Rotation([])


def test_cache_bytes_and_device_kind_on_this_machine():
    assert timing.cache_bytes("cpu") > 0
    kind = machine.device_kind()
    assert kind.startswith("cuda-" if torch.cuda.is_available() else "cpu-")
    assert "/" not in kind and " " not in kind
    assert machine.storage_uri("file://./.benchmarks") == f"file://./.benchmarks/{kind}"
    info = machine.machine_info()
    assert {"verify_device_kind", "torch_version", "cuda_version"} <= set(info)


def test_copy_bandwidth_counts_bytes_read_and_written():
    copy = machine.copy_bandwidth("cpu", nbytes=2**20, max_time_s=0.05)
    assert copy.gbps == pytest.approx(2 * 2**20 / copy.median_s / 1e9)
    assert copy.seconds_for(2 * 2**20) == pytest.approx(copy.median_s)


def _case(case_id: str) -> cases.Case:
    return next(c for c in cases.CASES if c.id == case_id)


def test_min_bytes_of_cross_entropy():
    case = _case("cross_entropy-image")
    n, c = case.workload.shape("cpu")
    forward = runner.prepare(case, cases.BUILTINS[case.loss], "cpu", torch.float32, "forward")
    assert forward.min_bytes == n * c * 4 + n * 8 + 4  # logits, int64 targets, scalar loss
    both = runner.prepare(case, cases.BUILTINS[case.loss], "cpu", torch.float32, "forward+backward")
    assert both.min_bytes == forward.min_bytes + n * c * 4  # plus the logits' gradient


def test_min_bytes_of_nll_loss_count_one_score_per_target():
    # The smoke shape: the count is a formula in (n, c), and the CPU shape's 131 MB of scores
    # only cost the test ten seconds (see docs/ci-time.md).
    case = _case("nll_loss-lm32k")
    n, c = case.workload.shape("smoke")
    loss = cases.BUILTINS[case.loss]
    forward = runner.prepare(case, loss, "cpu", torch.float32, "forward", smoke=True)
    assert forward.shape == (n, c)
    assert forward.min_bytes == n * 4 + n * 8 + 4  # the picked scores, the targets, the loss
    both = runner.prepare(case, loss, "cpu", torch.float32, "forward+backward", smoke=True)
    assert both.min_bytes == forward.min_bytes + n * c * 4  # the gradient is written whole


def test_min_bytes_of_a_non_scalar_output_include_its_cotangent():
    case = _case("log_softmax-image")
    n, c = case.workload.shape("cpu")
    both = runner.prepare(case, cases.BUILTINS[case.loss], "cpu", torch.float32, "forward+backward")
    assert (
        both.min_bytes == 4 * n * c * 4
    )  # read x, write y, read the cotangent, write the gradient


def test_backward_calls_do_not_accumulate_gradients():
    case = _case("mse_loss-reg1e4")
    seen = []

    def mse(x, y, **params):
        seen.append(x)
        return torch.nn.functional.mse_loss(x, y, **params)

    prepared = runner.prepare(case, mse, "cpu", torch.float32, "forward+backward", cache=0)
    assert prepared.copies == 1
    prepared.call()
    first = seen[-1].grad.clone()
    prepared.call()
    torch.testing.assert_close(seen[-1].grad, first)


def test_inputs_that_fit_in_cache_are_rotated():
    case = _case("cross_entropy-image")
    prepared = runner.prepare(
        case, cases.BUILTINS[case.loss], "cpu", torch.float32, "forward", cache=2**22
    )
    assert prepared.copies == timing.rotating_copies(prepared.input_bytes, 2**22) > 1


def test_extra_info_names_every_documented_key():
    from verify.benchmarking.records import EXTRA_INFO_KEYS

    case = _case("kl_div-reductionbatchmean-image")
    prepared = runner.prepare(case, cases.BUILTINS[case.loss], "cpu", torch.float32, "forward")
    copy = machine.CopyBandwidth("cpu", 2**20, 1e-4)
    info = runner.extra_info(
        prepared,
        implementation="torch",
        median_s=1e-3,
        iterations=1,
        copy=copy,
    )
    assert set(info) == set(EXTRA_INFO_KEYS)
    assert info["achieved_gbps"] == pytest.approx(prepared.min_bytes / 1e-3 / 1e9)
    assert info["fraction_of_copy"] == pytest.approx(info["achieved_gbps"] / copy.gbps)
    assert runner.peak_memory(prepared.call, "cpu") is None


def test_every_case_has_every_size_and_a_builtin():
    assert len({c.id for c in cases.CASES}) == len(cases.CASES)
    for case in cases.CASES:
        assert case.loss in cases.BUILTINS
        for size in cases.SIZES:
            assert case.workload.shape(size)


def test_peak_memory_reads_the_cuda_allocator_around_one_call(monkeypatch):
    """The CUDA branch of ``runner.peak_memory`` against a stand-in allocator."""
    allocator = {"held": 1000, "peak": 1000, "resets": 0}

    def reset(device=None):
        allocator["resets"] += 1
        allocator["peak"] = allocator["held"]

    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: allocator["held"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: allocator["peak"])

    def call():
        allocator["peak"] = allocator["held"] + 4096  # a temporary of 4 kB during the call

    assert runner.peak_memory(call, "cuda") == 4096
    assert allocator["resets"] == 1


def test_device_kind_names_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H100 80GB HBM3")
    assert machine.device_kind() == "cuda-NVIDIA-H100-80GB-HBM3"


def test_tox_benchmark_environments_keep_freed_memory():
    config = configparser.ConfigParser(interpolation=None)
    config.read(Path(__file__).resolve().parents[1] / "tox.ini")
    for env in ("testenv:bench", "testenv:bench-compare"):
        lines = [line.split("=", 1) for line in config[env]["setenv"].strip().splitlines()]
        setenv = {name.strip(): value.strip() for name, value in lines}
        assert setenv.items() >= machine.KEEP_FREED_MEMORY.items(), env


FAULTS_PER_CALL = """
import resource, statistics, torch
x, y = torch.randn(10**7), torch.randn(10**7)  # the loss's temporary: 40 MB, past glibc's 32 MiB
faults = []
for _ in range(20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.nn.functional.smooth_l1_loss(x, y)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(statistics.median(faults[10:]))  # the heap reaches its steady state in the first calls
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the MALLOC_* tunables are glibc's")
def test_keep_freed_memory_stops_page_faulting_the_temporary_in_on_every_call():
    def faults_per_call(settings: dict[str, str]) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        env.update(settings, OMP_NUM_THREADS="1")
        command = [sys.executable, "-c", FAULTS_PER_CALL]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return float(done.stdout)

    pages = 4 * 10**7 / resource.getpagesize()
    assert faults_per_call({}) > pages / 2  # mmapped afresh and faulted in, call after call
    assert faults_per_call(machine.KEEP_FREED_MEMORY) < pages / 20


class PhasedMachine:
    """A simulated clock on which every call runs at half speed once ``slow_from`` seconds
    have passed: a shared host whose neighbour starts a job halfway through a measurement."""

    def __init__(self, slow_from: float) -> None:
        self.now, self.slow_from = 0.0, slow_from

    def clock(self) -> float:
        return self.now

    def call(self, seconds: float) -> Callable[[], None]:
        def work() -> None:
            self.now += seconds * (2.0 if self.now >= self.slow_from else 1.0)

        return work


def test_interleaved_rounds_keep_the_ratio_when_the_machine_slows_down():
    plan = timing.Plan(iterations=5, rounds=20, warmup_rounds=1, single_call_s=1e-3)
    one_after_the_other = PhasedMachine(slow_from=0.105)  # the second call's rounds run slow
    first = timing.time_rounds(one_after_the_other.call(1e-3), one_after_the_other.clock, plan)
    second = timing.time_rounds(one_after_the_other.call(1e-3), one_after_the_other.clock, plan)
    assert timing.median(second) / timing.median(first) == pytest.approx(2.0)

    in_turn = PhasedMachine(slow_from=0.11)  # halfway through the timed rounds
    calls = [in_turn.call(1e-3), in_turn.call(1e-3)]
    first, second = timing.time_interleaved(calls, in_turn.clock, [plan, plan])
    assert len(first) == len(second) == 20
    assert timing.median(second) / timing.median(first) == pytest.approx(1.0)
