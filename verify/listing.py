"""The contracts as plain data, for commands that must answer without importing torch.

``verify contracts`` and the argument checks of ``verify check`` need only the contracts'
names, parameters, optional features and default implementations, but ``verify.contracts``
imports torch, SciPy and hypothesis (several seconds). This module reads the same facts from
``contracts.json`` beside it, which is generated from that package:

    python -m verify.listing --update

``tests/test_cli_fast.py`` fails while the file differs from what the modules say.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

LISTING = Path(__file__).with_name("contracts.json")


def generate() -> dict[str, Any]:
    """The listing computed from ``verify.contracts`` (imports torch)."""
    from verify.contracts import CONTRACTS

    return {
        name: {
            "summary": contract.summary,
            "params": [
                {"name": p.name, "default": repr(p.default), "domain": p.domain}
                for p in contract.params
            ],
            "features": [f.name for f in contract.conformance.features],
            "implementations": [i.name for i in contract.implementations],
        }
        for name, contract in CONTRACTS.items()
    }


def render_file(listing: dict[str, Any]) -> str:
    """``listing`` as the text of ``contracts.json``."""
    return json.dumps(listing, indent=1, ensure_ascii=False) + "\n"


@cache
def load() -> dict[str, Any]:
    """The committed listing (no torch import)."""
    return json.loads(LISTING.read_text(encoding="utf-8"))


def checked_contracts() -> dict[str, list[str]]:
    """Contract name -> its optional features, for every contract ``verify check`` checks."""
    return {name: c["features"] for name, c in load().items()}


def render_text() -> str:
    """What ``verify contracts`` prints."""
    lines = []
    for name, contract in load().items():
        lines.append(f"{name}: {contract['summary']}")
        for param in contract["params"]:
            lines.append(f"  {param['name']} (default {param['default']}): {param['domain']}")
        features = ", ".join(contract["features"])
        lines.append(f"  optional features checked by `verify check`: {features}")
        lines.append(f"  default implementations: {', '.join(contract['implementations'])}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.listing", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite contracts.json")
    args = parser.parse_args(argv)
    text = render_file(generate())
    if args.update:
        LISTING.write_text(text, encoding="utf-8")
        return 0
    stale = not LISTING.exists() or LISTING.read_text(encoding="utf-8") != text
    if stale:
        print(f"{LISTING} is stale: run `python -m verify.listing --update`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
