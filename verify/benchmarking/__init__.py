"""Benchmarking the losses: timing that is right on CUDA, the bandwidth limit, and the gate.

Modules: ``records`` (one saved benchmark, as the pytest-benchmark JSON holds it), ``timing``
(the synchronizing timer, calibration, rotating inputs against cache reuse, CUDA-event
cross-checks), ``workloads`` (what a benchmark case is made of: shapes, inputs, the fewest
bytes it must move), ``cases`` (every contract's cases, collected from ``verify.contracts``),
``machine`` (device kind, storage folder, machine info), ``compare`` (the regression gate),
``bench_table`` (the results table, ``verify bench-table``), ``plot`` (the picture) and
``bench`` (``verify bench``).
"""
