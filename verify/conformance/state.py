"""Global torch state an implementation under test must leave as it found it.

A loss that calls ``torch.set_default_dtype``, ``torch.manual_seed``,
``torch.use_deterministic_algorithms``, ``torch.set_grad_enabled(False)`` or
``torch.set_num_threads`` changes every later computation in the process, not just its own.
``snapshot`` records that state before a call; ``changes`` names what differs after it, and
``restore`` puts it back, so one misbehaving call is reported once and leaks nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Setting:
    """One piece of global state: how to read it, how to set it, how to show it."""

    name: str
    read: Callable[[], Any]
    write: Callable[[Any], None]
    show: Callable[[Any], str] = str
    same: Callable[[Any, Any], bool] = lambda a, b: a == b


def _cuda_rng() -> Any:
    return torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None


def _set_cuda_rng(states: Any) -> None:
    if states is not None:
        torch.cuda.set_rng_state_all(states)


def _same_states(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, list):
        return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    return torch.equal(a, b)


def _deterministic() -> tuple[bool, bool]:
    return (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )


SETTINGS: tuple[Setting, ...] = (
    Setting("default dtype", torch.get_default_dtype, torch.set_default_dtype),
    Setting("grad mode", torch.is_grad_enabled, torch.set_grad_enabled),
    Setting("anomaly detection", torch.is_anomaly_enabled, torch.set_anomaly_enabled),
    Setting(
        "deterministic algorithms",
        _deterministic,
        lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1]),
    ),
    Setting("number of threads", torch.get_num_threads, torch.set_num_threads),
    Setting(
        "float32 matmul precision",
        torch.get_float32_matmul_precision,
        torch.set_float32_matmul_precision,
    ),
    Setting(
        "CPU random number generator state",
        torch.get_rng_state,
        torch.set_rng_state,
        lambda _: "changed",
        _same_states,
    ),
    Setting(
        "CUDA random number generator state",
        _cuda_rng,
        _set_cuda_rng,
        lambda _: "changed",
        _same_states,
    ),
)


def snapshot() -> tuple[Any, ...]:
    """The current value of every setting in ``SETTINGS``."""
    return tuple(s.read() for s in SETTINGS)


def changes(before: tuple[Any, ...]) -> list[str]:
    """What differs from ``before``, one phrase per setting: 'default dtype: torch.float32 →
    torch.float64'."""
    found = []
    for setting, old in zip(SETTINGS, before, strict=True):
        new = setting.read()
        if not setting.same(old, new):
            if setting.show(old) == setting.show(new):
                found.append(f"{setting.name} {setting.show(new)}")
            else:
                found.append(f"{setting.name}: {setting.show(old)} → {setting.show(new)}")
    return found


def restore(before: tuple[Any, ...]) -> None:
    """Put every setting back to its value in ``before``."""
    for setting, old in zip(SETTINGS, before, strict=True):
        if not setting.same(old, setting.read()):
            setting.write(old)
