"""Repository-level pytest configuration.

The verify plugin (devices, dtypes, implementations, claims, hypothesis profiles) is loaded
through its ``pytest11`` entry point once the package is installed (``pip install -e .`` or
tox); without an installed package, load it here so a bare ``pytest`` in a checkout works.
``pytester`` lets the self-tests in ``tests/`` run pytest on generated spec files.
"""

import importlib.metadata

_installed = any(
    ep.value == "verify.plugin" for ep in importlib.metadata.entry_points(group="pytest11")
)
pytest_plugins = ["pytester"] + ([] if _installed else ["verify.plugin"])
