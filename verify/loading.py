"""Loading an implementation under test from a TARGET string.

TARGET is ``package.module:attr`` (imported) or ``path/to/file.py:attr`` (loaded from the file);
``attr`` may be dotted (``module:Class.method``). A module is looked for in the current
directory first, as ``python -m`` does, so ``my_package.losses:fn`` works from the folder
holding ``my_package/`` whether the command is ``verify``, ``pytest`` or ``python -m pytest``.
Anything that goes wrong here is the user's input, reported as a ``TargetError`` with a
one-line message (the CLI exits 2).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class TargetError(Exception):
    """The TARGET cannot be imported, has no such attribute, or is not callable."""


def _load_module(location: str) -> Any:
    if location.endswith(".py") or "/" in location or "\\" in location:
        path = Path(location)
        if not path.is_file():
            raise TargetError(f"no such file: {location}")
        name = f"verify_target_{abs(hash(path.resolve()))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise TargetError(f"cannot load {location} as a Python file")
        module = importlib.util.module_from_spec(spec)
        module.__verify_location__ = location  # so reports name the file, not the module alias
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.pop(0)
        return module
    here = os.getcwd()
    sys.path.insert(0, here)
    try:
        return importlib.import_module(location)
    finally:
        sys.path.remove(here)  # the first occurrence: the one inserted above


def _split(target: str) -> tuple[str, str]:
    location, sep, attribute = target.rpartition(":")
    if not sep or not location or not attribute:
        raise TargetError(f"TARGET must be module:attr or path/file.py:attr, got {target!r}")
    return location, attribute


def locate_target(target: str) -> None:
    """TargetError unless ``target`` is well formed and names a file or a top-level module that
    exists; nothing of it is run (the harness leaves that to a worker process)."""
    location, _ = _split(target)
    if location.endswith(".py") or "/" in location or "\\" in location:
        if not Path(location).is_file():
            raise TargetError(f"no such file: {location}")
        return
    top = location.split(".")[0]
    sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(top) is not None
    finally:
        sys.path.pop(0)
    if not found:
        raise TargetError(f"cannot import {location}: ModuleNotFoundError: no module named {top!r}")


def load_target(target: str) -> Any:
    """The object named by ``target`` (see the module docstring); callable or TargetError."""
    location, attribute = _split(target)
    try:
        obj = _load_module(location)
    except TargetError:
        raise
    except Exception as error:  # the user's module failed to import: say why, in one line
        message = str(error).splitlines()[0] if str(error) else ""
        raise TargetError(f"cannot import {location}: {type(error).__name__}: {message}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"{location} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TargetError(f"{target} is not callable (it is a {type(obj).__name__})")
    return obj


def implementation_option(option: str, entry: str, known: Iterable[str]) -> tuple[str, str, Any]:
    """Parse a ``NAME=TARGET`` command-line entry (``--impl``, ``--bench-impl``): the contract
    name, the target, and the loaded implementation in the contracts' calling convention.

    TargetError, one line naming ``option`` and ``entry``, when NAME is not in ``known`` or
    TARGET cannot be loaded.
    """
    from verify.contracts import as_implementation

    name, sep, target = entry.partition("=")
    if not sep or name not in known:
        raise TargetError(
            f"{option} {entry!r}: expected NAME=TARGET with NAME one of {', '.join(sorted(known))}"
        )
    try:
        return name, target, as_implementation(load_target(target), target)
    except TargetError as error:
        raise TargetError(f"{option} {entry!r}: {error}") from None
