"""Benchmarking the losses: timing that is right on CUDA, the bandwidth limit, and the gate.

Modules: ``records`` (one saved benchmark, as the pytest-benchmark JSON holds it), ``timing``
(the synchronizing timer, calibration, rotating inputs against cache reuse, CUDA-event
cross-checks), ``cases`` (the losses and shapes benchmarked, and the fewest bytes each must
move), ``machine`` (device kind, storage folder, machine info), ``compare`` (the regression
gate), ``summary`` (the results table), ``plot`` (the picture) and ``bench`` (``verify bench``).
"""
