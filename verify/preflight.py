"""Checking a command's input before any work starts, without importing torch where possible.

A usage error (exit 2, one line) must come within a second or two, not after torch, SciPy and
minutes of checks have run: output paths are checked for a writable folder, a named device
for being present, contract and feature names against ``verify.listing``. The commands'
``--json``/``--markdown`` output options are declared here too (``add_output_options``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from verify import listing

# The names of verify.devices.DEVICES and its FLOATING_DTYPES, without importing torch
# (tests/test_cli_fast.py checks that they agree).
DEVICE_NAMES = ("cpu", "cuda")
DTYPE_NAMES = ("float64", "float32", "float16", "bfloat16")
# The report formats a command can also write, by option name: how its help spells them.
OUTPUT_FORMATS = {"json": "JSON", "markdown": "Markdown"}
# Device files present wherever an NVIDIA (or, for ROCm builds, an AMD) GPU driver is loaded.
_GPU_DRIVER_FILES = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/kfd")


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def output_path(option: str, path: str | None) -> None:
    """UsageError unless ``path`` (given to ``option``) can be written: its folder exists and is
    writable, and it is not itself a folder. ``None`` (option not given) passes."""
    if path is None:
        return
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory, expected a file path")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: folder {folder} is not writable")


def output_paths(options: Iterable[tuple[str, str | None]]) -> None:
    """``output_path`` for each (option, path) pair."""
    for option, path in options:
        output_path(option, path)


def add_output_options(parser: argparse.ArgumentParser, what: str, *formats: str) -> None:
    """``--json PATH`` and/or ``--markdown PATH`` (``formats``, in that order): "also write the
    ``what`` as JSON / Markdown" (``output_paths`` checks them)."""
    for name in formats:
        shown = OUTPUT_FORMATS[name]
        parser.add_argument(f"--{name}", metavar="PATH", help=f"also write the {what} as {shown}")


def readable_file(option: str, path: str | None) -> None:
    """UsageError unless ``path`` is a readable file (``None`` passes)."""
    if path is None:
        return
    if not Path(path).is_file():
        raise UsageError(f"{option} {path}: no such file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{option} {path}: not readable")


def _no_gpu_driver() -> bool:
    """True when this machine certainly has no usable GPU: Linux without a GPU driver's device
    files, or CUDA_VISIBLE_DEVICES hiding every device. Cheap: no torch import."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return True
    return sys.platform.startswith("linux") and not any(Path(p).exists() for p in _GPU_DRIVER_FILES)


def device(name: str) -> None:
    """UsageError unless device ``name`` ('cpu', 'cuda', or 'all': every present one) is present.

    Without a GPU driver this answers at once; with one, torch is asked (and imported)."""
    if name in ("cpu", "all"):
        return
    if name != "cuda":
        raise UsageError(f"--device {name}: unknown; expected one of {', '.join(DEVICE_NAMES)}")
    if _no_gpu_driver():
        raise UsageError("--device cuda: CUDA not available (no GPU driver on this machine)")
    from verify import devices

    reason = devices.unavailable_reason(name)
    if reason:
        raise UsageError(f"--device {name}: {reason}")


def contract_and_features(contract: str, supports: str | None) -> list[str]:
    """UsageError unless ``contract`` is checked by ``verify check`` and every feature in the
    comma-separated ``supports`` is one of its optional features; the declared features."""
    checked = listing.checked_contracts()
    if contract not in checked:
        raise UsageError(f"unknown contract {contract!r}; known: {', '.join(sorted(checked))}")
    declared = [f for f in (supports or "").split(",") if f]
    unknown = [f for f in declared if f not in checked[contract]]
    if unknown:
        raise UsageError(
            f"unknown feature(s) {', '.join(unknown)}; {contract} has: "
            f"{', '.join(sorted(checked[contract]))}"
        )
    return declared
