"""Progress on stderr: a redrawn line on a terminal, plain lines in logs, nothing with -q; the
pytest plugin's progress file, which ``verify claims`` follows."""

from __future__ import annotations

import io

import pytest

from verify.progress import Progress


def run_stage(progress: Progress, total: int | None, steps: int) -> None:
    progress.start("checking", total)
    for n in range(steps):
        progress.advance(f"check {n}")
    progress.finish("conforms")


def test_plain_lines_at_start_each_tenth_and_end():
    stream = io.StringIO()
    run_stage(Progress(stream, live=False), 20, 20)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "checking: started (20)"
    assert [line.split()[1] for line in lines[1:-1]] == [f"{n}/20" for n in range(2, 20, 2)]
    assert lines[-1].startswith("checking: done 20/20 in ")
    assert lines[-1].endswith(", conforms")
    assert "\r" not in stream.getvalue()


def test_plain_lines_without_a_total_are_start_and_end():
    stream = io.StringIO()
    run_stage(Progress(stream, live=False), None, 50)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "checking: started"
    assert lines[1].startswith("checking: done 50 in ") and len(lines) == 2


def test_live_line_is_redrawn_in_place_then_cleared():
    stream = io.StringIO()
    run_stage(Progress(stream, live=True), 3, 3)
    text = stream.getvalue()
    assert text.startswith("\rchecking: 0/3 (0%)")
    final = text.rsplit("\r", 1)[1]
    assert final.startswith("checking: done 3/3 in ") and final.endswith("conforms\n")
    assert text.count("\n") == 1


@pytest.mark.parametrize("live", [True, False])
def test_quiet_prints_nothing(live):
    stream = io.StringIO()
    run_stage(Progress(stream, quiet=True, live=live), 10, 10)
    assert stream.getvalue() == ""


def test_not_a_terminal_means_plain_lines():
    assert Progress(io.StringIO()).live is False


SPEC = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_numbers(n):
    assert n != 2
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_plugin_writes_the_total_then_one_line_per_test(pytester, workers):
    pytester.makepyfile(test_spec=SPEC)
    progress = pytester.path / "progress"
    result = pytester.runpytest_subprocess(
        f"--verify-progress={progress}", "-p", "no:cacheprovider", *workers
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lines = progress.read_text().splitlines()
    assert lines[0] == "total 4"
    done = sorted(line.split()[1:] for line in lines[1:])
    assert [outcome for outcome, _ in done].count("failed") == 1
    assert len(done) == 4 and all(line[1].startswith("test_spec.py::") for line in done)
