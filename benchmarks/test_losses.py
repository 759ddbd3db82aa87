"""Forward and forward + backward timings of the core losses, against the bandwidth limit.

Every case of ``verify.benchmarking.cases.CASES`` (loss, variant, workload), in both modes, in
float32 and bfloat16 (and float16 on CUDA), on the CPU and CUDA (skipped with the reason where
absent). Timing (``verify.benchmarking.timing``): pytest-benchmark's ``pedantic`` with a timer
that synchronizes CUDA, rounds of back-to-back calls sized by ``timing.plan`` (at least
``--benchmark-min-rounds`` rounds, about ``--benchmark-max-time`` seconds), input sets rotated
so that no call finds its inputs in cache, a fresh ``.grad`` per backward call, the median
reported. ``extra_info`` holds the fewest bytes the call must move, the achieved GB/s, the
fraction of the same-run copy bandwidth and (CUDA) the peak memory against the inputs' size.
"""

from __future__ import annotations

import pytest
import torch

from verify.benchmarking import runner, timing
from verify.benchmarking.cases import MODES

pytestmark = pytest.mark.benchmark(timer=timing.synchronized_perf_counter, disable_gc=True)


@pytest.mark.dtypes(torch.float32, torch.bfloat16, torch.float16)
@pytest.mark.parametrize("mode", MODES)
def test_loss(benchmark, case, implementation, device, dtype, mode, smoke, budget, copy_bandwidth):
    if dtype == torch.float16 and device == "cpu":
        pytest.skip("float16 is benchmarked on CUDA only (CPU training runs float32/bfloat16)")
    label, fn = implementation
    prepared = runner.prepare(case, fn, device, dtype, mode, smoke=smoke)
    plan = timing.plan(prepared.call, timing.synchronized_perf_counter, **budget)
    benchmark.group = f"{case.id} {mode}"
    benchmark.pedantic(
        prepared.call,
        rounds=plan.rounds,
        iterations=plan.iterations,
        warmup_rounds=plan.warmup_rounds,
    )
    median = benchmark.stats.stats.median if benchmark.stats else plan.single_call_s
    benchmark.extra_info.update(
        runner.extra_info(
            prepared,
            implementation=label,
            median_s=median,
            iterations=plan.iterations,
            copy=copy_bandwidth(device),
        )
    )
