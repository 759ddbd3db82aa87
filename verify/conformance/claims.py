"""The claim specs with the implementation swapped in, run by pytest in a subprocess.

``verify check`` runs ``pytest --pyargs specs -m claim --impl CONTRACT=TARGET`` (the same
mechanism a user gets with ``--impl``), next to its own checks. The plugin keeps the specs
that involve the contract and state what any conforming implementation must do (specs marked
``implementation_detail`` pin a property of torch's own implementation and are not demanded of
others), and skips with "unsupported: ..." a call that needs a feature the implementation
declines. Each spec case becomes a check named ``claim[ID]:test_name[pytest id]``: stable
across runs, so a known-deviations entry can name it.

Shrinking is off for these specs under the ``dev`` and ``ci`` profiles: the engine's own
checks already give the minimal counterexample, and a failing claim only needs to be named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify import profiles
from verify.conformance.results import CheckResult
from verify.conformance.worker import OutputCapture
from verify.plugin import NO_DOUBLE_BACKWARD, NOT_IMPLEMENTED, UNSUPPORTED

PYTEST_USAGE_ERROR = 4


def _command(
    target: str,
    contract: str,
    devices: tuple[str, ...],
    dtypes: tuple[str, ...],
    profile: str,
    supports: tuple[str, ...],
    results: Path,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "specs",
        "-m",
        "claim",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-o",
        "addopts=",
        f"--impl={contract}={target}",
        f"--verify-results={results}",
        f"--hypothesis-profile={profiles.without_shrinking(profile)}",
    ]
    command += [f"--device={d}" for d in devices] + [f"--dtype={d}" for d in dtypes]
    if supports:
        command.append(f"--impl-supports={contract}={','.join(supports)}")
    return command


@dataclass
class ClaimRun:
    """A running pytest process over the claim specs, and where it writes its results."""

    process: subprocess.Popen
    output: OutputCapture
    results: Path
    folder: tempfile.TemporaryDirectory
    started: float

    @classmethod
    def start(
        cls,
        target: str,
        contract: str,
        devices: tuple[str, ...],
        dtypes: tuple[str, ...],
        profile: str,
        supports: tuple[str, ...] = (),
    ) -> ClaimRun:
        folder = tempfile.TemporaryDirectory(prefix="verify-claims-")
        results = Path(folder.name) / "results.json"
        process = subprocess.Popen(
            _command(target, contract, devices, dtypes, profile, supports, results),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
            start_new_session=True,
        )
        return cls(process, OutputCapture(process.stdout), results, folder, time.monotonic())

    def finish(self, limit_s: float) -> list[CheckResult]:
        """Wait (at most ``limit_s`` from the start) and turn the spec outcomes into checks."""
        try:
            remaining = max(limit_s - (time.monotonic() - self.started), 1.0)
            code = self.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.stop()
            return [CheckResult("claims", "error", f"timed out: not done within {limit_s:g} s")]
        try:
            if code == PYTEST_USAGE_ERROR:  # pytest could not load the implementation by name
                return [CheckResult("claims", "skipped", f"not run: {_last_line(self.output)}")]
            if not self.results.exists():
                return [CheckResult("claims", "error", _ended(code, self.output))]
            entries = json.loads(self.results.read_text())
            return [_check(entry) for entry in entries if not _not_chosen(entry)]
        finally:
            self.folder.cleanup()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.folder.cleanup()


def _last_line(output: OutputCapture) -> str:
    excerpt = output.excerpt()
    lines = excerpt["excerpt"].strip().splitlines() if excerpt else []
    return lines[-1] if lines else "no output"


def _ended(code: int, output: OutputCapture) -> str:
    return f"the claim specs ended without results (exit {code}): {_last_line(output)}"


def _not_chosen(entry: dict[str, Any]) -> bool:
    """A spec whose every case needs a dtype or device the run left out (``--dtype``): pytest
    skips it with "got empty parameter set"; it is no result of the implementation's."""
    return entry["outcome"] == "skipped" and entry["message"].startswith("got empty parameter set")


def _check(entry: dict[str, Any]) -> CheckResult:
    case = entry["nodeid"].split("::", 1)[-1]
    name = f"claim[{'+'.join(entry['claims'])}]:{case}"
    status, message = entry["outcome"], entry["message"]
    if status == "skipped" and message.startswith(UNSUPPORTED):
        status = "unsupported"
    return CheckResult(name, status, message)


def reconcile(results: list[CheckResult], declined_any: bool) -> None:
    """A claim case the implementation declined is unsupported only if the engine also saw it
    decline (a feature, or values of one); otherwise the implementation refused something it
    supports: an error. An explicit NotImplementedError (a combination of features the checks
    never try, say) and a second-order check without double backward stay unsupported."""
    if declined_any:
        return
    explicit = (NOT_IMPLEMENTED, NO_DOUBLE_BACKWARD)
    for result in results:
        if result.status == "unsupported" and not result.message.startswith(explicit):
            result.status = "error"
            result.message = (
                f"raised where the checks found every feature supported: {result.message}"
            )
