"""THIRD_PARTY.md from the committed reports of ``verify.adapters.run``.

    python -m verify.adapters.table [--reports DIR] [-o PATH] [--check]

One row per implementation: the library and its version, the contract, the verdict, the
features it supports (and those it does not take), and each deviation in one line: the check,
the dtypes it failed in, what differed, the counterexample (cut short) and the convention it
matches instead (the report's diagnosis). Below the table, one snippet per deviation that
reproduces it. The output depends on nothing but the reports, so a test can regenerate it and
compare (``--check`` exits 1 when PATH is out of date).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from verify.adapters.registry import ADAPTERS, REPORTS, Adapter
from verify.environment import one_line

OUTPUT = Path("THIRD_PARTY.md")
SHOWN = 90  # characters of one counterexample field
SHOWN_NAMES = 4  # check names listed for one deviation
DIAGNOSED = "matches the reference with "
AT = re.compile(r"@(\w+)/(\w+)$")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _message(check: dict[str, Any]) -> str:
    """What differed: the message's first line, cut to its head when a counterexample follows
    (it repeats the values) and without tolerance details."""
    text = check["message"].splitlines()[0] if check["message"] else check["status"]
    if check.get("counterexample") and check["counterexample"].get("expected") is not None:
        return text.split(": ")[0]
    return text.split(" (allowed")[0]


def _example(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    text = (
        f"; counterexample ({example['what']}, {example['dtype']}): "
        f"input {_short(example['input'])}, target {_short(example['target'])}, "
        f"params {_short(example['params'])}"
    )
    if example.get("expected") is None:
        return text
    return f"{text}: got {_short(example['got'])}, expected {_short(example['expected'])}"


def deviations(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The failed checks as deviations, in the report's order: a value or gradient difference
    is one deviation per check name (across dtypes); any other failure (a wrong output dtype,
    an exception) is one deviation per message, listing every check that failed with it."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for check in report["checks"]:
        if check["status"] not in ("failed", "error"):
            continue
        match = AT.search(check["name"])
        base = check["name"][: match.start()] if match else check["name"]
        message = _message(check)
        example = check.get("counterexample") or {}
        key = (base, message) if example.get("expected") is not None else ("", message)
        group = groups.setdefault(key, {"names": [], "where": [], "first": check})
        for item, values in (
            (base, group["names"]),
            (match.group(2) if match else "all", group["where"]),
        ):
            if item not in values:
                values.append(item)
    for group in groups.values():
        found = [
            line.split(": ", 1)[1].removeprefix(DIAGNOSED)
            for line in report["diagnosis"]
            if line.split("@")[0].split(":")[0] in group["names"]
        ]
        group["matches"] = list(dict.fromkeys(found))
    return list(groups.values())


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:SHOWN_NAMES])
    return shown + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else "")


def _deviation_line(index: int, group: dict[str, Any]) -> str:
    first = group["first"]
    line = f"{index}. {_names(group['names'])} ({', '.join(group['where'])}): {_message(first)}"
    line += _example(first.get("counterexample"))
    if group["matches"]:
        line += f"; matches instead: {'; '.join(group['matches'])}"
    return line


def _features(report: dict[str, Any]) -> str:
    text = ", ".join(report["exercised"])
    if report["unsupported"]:
        text += f"; not taken: {', '.join(report['unsupported'])}"
    return text


def _row(adapter: Adapter, report: dict[str, Any], versions: dict[str, str]) -> str:
    library = f"{adapter.distribution} {versions.get(adapter.distribution, '?')}"
    found = deviations(report)
    lines = [_deviation_line(i, g) for i, g in enumerate(found, 1)]
    verdict = f"**{report['verdict']}**"
    cells = [
        f"`{adapter.api}`",
        library,
        f"`{report['contract']}`",
        verdict,
        _features(report),
        "<br>".join(lines) or "none",
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _reproductions(adapter: Adapter, report: dict[str, Any]) -> list[str]:
    out = []
    for group in deviations(report):
        example = group["first"].get("counterexample")
        if not example or not example.get("snippet"):
            continue
        out += [
            f"### `{adapter.api}`: `{group['names'][0]}` ({example['dtype']})",
            "",
            "```python",
            example["snippet"],
            "```",
            "",
        ]
    return out


def _environment_lines(name: str, env: dict[str, Any]) -> list[str]:
    libraries = ", ".join(f"{k} {v}" for k, v in sorted(env["libraries"].items()))
    seconds = sum(env.get("seconds", {}).values())
    own = {" ".join(a.check_args) for a in ADAPTERS[name] if a.check_args}
    args = " ".join(["--json REPORT", *sorted(own), *env.get("check_args", [])])
    return [
        f"- `tox -e {name}`: {libraries}; {one_line(env)}; reports made by "
        f"`verify check TARGET --contract NAME {args}` in {seconds / 60:.1f} min"
    ]


HEADER = """# Third-party losses against the contracts

<!-- Generated by `python -m verify.adapters.table` from thirdparty/reports/ (written by
`tox -e thirdparty`, `tox -e liger`, `tox -e optax`). Do not edit by hand. -->

The losses people import, checked by `verify check` against the project's contracts
(`verify contracts`) through the adapters in `verify/adapters/`, which translate argument names
and conventions only and never correct a result. A feature an adapter's library does not take
is *not taken* (skipped), not a deviation. A verdict is about the library at the version shown,
on the CPU, in float64 and float32 unless the environment says otherwise; each deviation names
the check, the dtypes it failed in, what differed, its smallest counterexample, and the
convention the library follows instead where the diagnosis recognised one of the variants it
knows for that contract (`verify/contracts/<name>.py`; it has none yet for the softmax focal loss).

How each library is reached (the adapters' docstrings say more):

- **Liger-Kernel** runs in Triton's interpreter on CPU tensors (`TRITON_INTERPRET=1`), which
  is given Python floats as fp32 scalars, as compiled Triton passes them. Liger computes in
  fp32 by design and bf16 is wrong in the interpreter, so it is checked in float32 and float16
  only. The fused linear cross-entropy is checked as CE(hidden @ Wᵀ) with the logits as the
  hidden states and W the identity.
- **optax** is called through a torch ↔ JAX bridge (`jax.vjp` for the gradient, `jax.jit`,
  `jax_enable_x64` so float64 stays float64); its losses are unreduced, and the adapters apply
  the caller's `jnp.mean`/`jnp.sum` inside JAX.
- An α < 0 ("no α") is passed as the library's `alpha=None`; class indices are given to timm's
  `SoftTargetCrossEntropy` as one-hot rows; input kinds a library does not document (K-dim
  scores, probability targets) are declined, not tried.
"""


def render(reports: Path) -> str:
    """THIRD_PARTY.md for the reports under ``reports`` (one folder per environment)."""
    out = [HEADER, "## Environments", ""]
    rows, reproductions = [], []
    for name, adapters in ADAPTERS.items():
        env_path = reports / name / "environment.json"
        env = json.loads(env_path.read_text()) if env_path.exists() else None
        out += _environment_lines(name, env) if env else [f"- `tox -e {name}`: not run yet"]
        for adapter in adapters:
            path = reports / name / f"{adapter.name}.json"
            if path.exists():
                report = json.loads(path.read_text())
                rows.append(_row(adapter, report, (env or {}).get("libraries", {})))
                reproductions += _reproductions(adapter, report)
    out += [
        "",
        "## Verdicts",
        "",
        "| implementation | library | contract | verdict | features | deviations |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "## Reproductions",
        "",
        "Each snippet rebuilds a deviation's counterexample (in the dtype it failed in), calls the",
        "implementation through its adapter and the float64 reference, and prints both.",
        "",
        *reproductions,
    ]
    return "\n".join(out).rstrip() + "\n"


def write(reports: Path = REPORTS, path: Path = OUTPUT) -> None:
    path.write_text(render(reports))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.adapters.table")
    parser.add_argument("--reports", default=str(REPORTS), help="default: %(default)s")
    parser.add_argument("-o", "--output", default=str(OUTPUT), help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="exit 1 if OUTPUT is out of date")
    args = parser.parse_args(argv)
    text = render(Path(args.reports))
    if args.check:
        current = Path(args.output).read_text() if Path(args.output).exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m verify.adapters.table")
            return 1
        return 0
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
