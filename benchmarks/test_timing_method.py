"""The timing method checked against independent timers in the same run.

The suites' median (``timing.plan`` rounds with the synchronizing timer, as pytest-benchmark
runs them) must agree with ``torch.utils.benchmark.Timer.blocked_autorange`` on the same call,
and on CUDA with CUDA-event timings (``timing.event_times`` with an L2 flush before each call)
and ``triton.testing.do_bench`` where triton is installed, within ``AGREEMENT``.

The methods take turns, in ``BLOCKS`` short blocks, and the median of the per-block ratios is
compared: a machine whose speed drifts (measured on the CPU VM here: the same 10⁶-element MSE
at 0.46 ms, then 1.8 ms a second later) moves both sides of a block together, where two
back-to-back one-second measurements can differ by 4×. The figures go to ``extra_info``
(``agreement``). The smoke run only exercises the code (tiny shapes cannot be timed).
"""

from __future__ import annotations

import importlib.util
import statistics

import pytest
import torch
import torch.utils.benchmark as torch_benchmark

from verify.benchmarking import cases, runner, timing
from verify.benchmarking.cases import BUILTINS, MODES

pytestmark = pytest.mark.benchmark(timer=timing.synchronized_perf_counter, disable_gc=True)

BLOCKS = 11
AGREEMENT = 0.05
"""Largest relative difference between two methods' medians: a few percent, as the noise of
medians over a second of samples allows on an idle machine."""

CHECKED = {
    # CPU: 1 MB of logits fits the caches, so the rotation of input sets is exercised too.
    "cpu": next(c for c in cases.CASES if c.id == "cross_entropy-image"),
    # CUDA: 1 GB of logits, far past the L2: the flush of do_bench and the rotation agree.
    "cuda": next(c for c in cases.CASES if c.id == "cross_entropy-lm32k"),
}


def _other_medians(call, device: str, min_run_time: float) -> dict[str, float]:
    medians = {
        # Timer runs on one thread unless told otherwise; the suites use torch's setting.
        "torch.utils.benchmark": torch_benchmark.Timer(
            stmt="call()", globals={"call": call}, num_threads=torch.get_num_threads()
        )
        .blocked_autorange(min_run_time=min_run_time)
        .median
    }
    if device == "cuda":
        flush = timing.flush_buffer(device)
        samples = timing.event_times(call, torch.cuda, repeats=100, flush=flush)
        medians["cuda events"] = timing.median(samples)
        if importlib.util.find_spec("triton") is not None:
            from triton.testing import do_bench

            medians["triton do_bench"] = do_bench(call, return_mode="median") / 1e3
    return medians


@pytest.mark.dtypes(torch.float32)
@pytest.mark.parametrize("mode", MODES)
def test_median_agrees_with_independent_timers(
    benchmark, device, dtype, mode, smoke, budget, copy_bandwidth
):
    case = CHECKED[device]
    prepared = runner.prepare(case, BUILTINS[case.loss], device, dtype, mode, smoke=smoke)
    plan = timing.plan(prepared.call, timing.synchronized_perf_counter, **budget)
    benchmark.group = "timing method"
    benchmark.pedantic(
        prepared.call, rounds=plan.rounds, iterations=plan.iterations, warmup_rounds=1
    )
    ours = benchmark.stats.stats.median if benchmark.stats else plan.single_call_s
    block_s = budget["max_time_s"] / 4
    block = timing.plan(prepared.call, timing.synchronized_perf_counter, max_time_s=block_s)
    blocks = []
    for _ in range(1 if smoke else BLOCKS):
        samples = timing.time_rounds(prepared.call, timing.synchronized_perf_counter, block)
        others = _other_medians(prepared.call, device, block_s)
        blocks.append({name: timing.median(samples) / m for name, m in others.items()})
    ratios = {name: statistics.median(b[name] for b in blocks) for name in blocks[0]}
    benchmark.extra_info.update(
        runner.extra_info(
            prepared,
            implementation="torch",
            median_s=ours,
            iterations=plan.iterations,
            copy=copy_bandwidth(device),
        )
    )
    benchmark.extra_info["agreement"] = {"blocks": blocks, "ours_over_theirs": ratios}
    if smoke or not benchmark.enabled:
        return
    far = {name: r for name, r in ratios.items() if abs(r - 1) > AGREEMENT}
    assert not far, f"median ratios {far} beyond {AGREEMENT:.0%} (per block: {blocks})"
