"""The benchmark regression gate on synthetic pytest-benchmark runs: no real timing."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from verify.benchmarking import compare as gate
from verify.benchmarking.records import load_run

KEY = "benchmarks/test_losses.py::test_loss[cross_entropy]"
OTHER = "benchmarks/test_losses.py::test_loss[mse]"
MEDIAN_S = 2e-3
COPY_S = 1e-3


def samples(median: float, *, n: int = 30, sigma: float = 0.05, seed: int = 0) -> list[float]:
    """``n`` per-call times with lognormal noise around ``median``."""
    rng = np.random.default_rng(seed)
    return [float(x) for x in median * rng.lognormal(0.0, sigma, n)]


def entry(key: str, data: list[float], *, copy_s: float | None = COPY_S) -> dict:
    extra = {"loss": "cross_entropy"}
    if copy_s is not None:
        extra["copy_equivalent_s"] = copy_s
    return {
        "name": key.split("::")[-1],
        "fullname": key,
        "stats": {"median": float(np.median(data)) if data else MEDIAN_S, "data": data},
        "extra_info": extra,
    }


def write_run(path: Path, entries: list[dict], *, kind: str = "cpu-test") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine_info": {"verify_device_kind": kind}, "benchmarks": entries}
    path.write_text(json.dumps(document))
    return path


def one(tmp_path: Path, name: str, data: list[float], **kwargs) -> Path:
    return write_run(tmp_path / name, [entry(KEY, data, **kwargs)])


def verdict_of(tmp_path: Path, base: list[float], cur: list[float], **options) -> gate.Comparison:
    baseline = load_run(one(tmp_path, "base.json", base))
    current = load_run(one(tmp_path, "cur.json", cur))
    (comparison,) = gate.compare(baseline, current, **options)
    return comparison


def test_identical_rerun_with_fresh_noise_passes(tmp_path, capsys):
    base = one(tmp_path, "base.json", samples(MEDIAN_S, seed=1))
    cur = one(tmp_path, "cur.json", samples(MEDIAN_S, seed=2))
    assert gate.main([str(cur), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "| unchanged |" in out
    assert out.splitlines()[-1].startswith("OK: 0 regression")


def test_planted_30_percent_slowdown_fails(tmp_path, capsys):
    base = one(tmp_path, "base.json", samples(MEDIAN_S, seed=1))
    cur = one(tmp_path, "cur.json", samples(1.3 * MEDIAN_S, seed=2))
    markdown = tmp_path / "table.md"
    assert gate.main([str(cur), "--baseline", str(base), "--markdown", str(markdown)]) == 1
    out = capsys.readouterr().out
    assert "| regression |" in out
    assert out.splitlines()[-1].startswith("FAIL: 1 regression")
    assert "| regression |" in markdown.read_text()
    (comparison,) = gate.compare(load_run(base), load_run(cur))
    assert comparison.ratio == pytest.approx(1.3, rel=0.05)
    assert comparison.p_value < 1e-6


def test_significant_5_percent_slowdown_fails_only_below_the_threshold(tmp_path):
    # Low noise: the 5% shift is highly significant, but within the default 10% threshold.
    base_data = samples(MEDIAN_S, sigma=0.01, seed=1)
    cur_data = samples(1.05 * MEDIAN_S, sigma=0.01, seed=2)
    comparison = verdict_of(tmp_path, base_data, cur_data)
    assert comparison.p_value < 1e-6
    assert comparison.verdict == "unchanged"
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    assert gate.main([str(cur), "--baseline", str(base)]) == 0
    assert gate.main([str(cur), "--baseline", str(base), "--threshold", "0.03"]) == 1


def test_large_ratio_without_significance_is_unchanged(tmp_path):
    # Six noisy samples each: the current median is 1.5x the baseline's, but the samples
    # overlap so much that the difference is not significant at alpha = 0.01.
    base_data = [1.0e-3, 1.1e-3, 1.2e-3, 2.0e-3, 5.0e-3, 6.0e-3]
    cur_data = [1.05e-3, 1.15e-3, 2.4e-3, 4.0e-3, 5.5e-3, 6.5e-3]
    comparison = verdict_of(tmp_path, base_data, cur_data)
    assert comparison.ratio > 1.4
    assert comparison.p_value >= 0.01
    assert comparison.verdict == "unchanged"
    assert "not significant" in comparison.note
    # The same ratio decided on the ratio alone (too few samples to test) is a regression.
    ratio_only = verdict_of(tmp_path, base_data[:3], [2 * x for x in base_data[:3]])
    assert ratio_only.p_value is None
    assert ratio_only.verdict == "regression"
    assert "ratio alone" in ratio_only.note


def test_runs_without_samples_are_decided_on_the_ratio(tmp_path):
    base = write_run(tmp_path / "base.json", [entry(KEY, [])])
    slower = entry(KEY, [])
    slower["stats"]["median"] = 1.3 * MEDIAN_S
    cur = write_run(tmp_path / "cur.json", [slower])
    (comparison,) = gate.compare(load_run(base), load_run(cur))
    assert (comparison.verdict, comparison.p_value) == ("regression", None)
    assert "0 baseline and 0 current samples" in comparison.note


def test_improvement_is_reported_and_passes(tmp_path):
    comparison = verdict_of(tmp_path, samples(MEDIAN_S, seed=1), samples(0.7 * MEDIAN_S, seed=2))
    assert comparison.verdict == "improvement"
    assert gate.main([str(tmp_path / "cur.json"), "--baseline", str(tmp_path / "base.json")]) == 0


def test_new_and_missing_are_reported_and_do_not_fail(tmp_path, capsys):
    base = write_run(tmp_path / "base.json", [entry(OTHER, samples(MEDIAN_S, seed=1))])
    cur = write_run(tmp_path / "cur.json", [entry(KEY, samples(MEDIAN_S, seed=2))])
    comparisons = gate.compare(load_run(base), load_run(cur))
    assert [(c.key, c.verdict) for c in comparisons] == [(KEY, "new"), (OTHER, "missing")]
    assert gate.main([str(cur), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "| new |" in out and "| missing |" not in out
    assert "- only in the baseline (1): test_loss[mse]" in out
    assert "1 new, 1 missing" in out


def test_copy_normalization_removes_a_uniform_machine_drift(tmp_path):
    # Today the machine is 20% slower at everything, the same-run copy included.
    base = one(tmp_path, "base.json", samples(MEDIAN_S, seed=1), copy_s=COPY_S)
    cur = one(tmp_path, "cur.json", samples(1.2 * MEDIAN_S, seed=2), copy_s=1.2 * COPY_S)
    (raw,) = gate.compare(load_run(base), load_run(cur), normalize="none")
    assert raw.verdict == "regression"
    (normalized,) = gate.compare(load_run(base), load_run(cur), normalize="copy")
    assert normalized.verdict == "unchanged"
    assert normalized.ratio == pytest.approx(1.0, rel=0.05)
    assert normalized.baseline_median == pytest.approx(MEDIAN_S / COPY_S, rel=0.05)
    assert gate.main([str(cur), "--baseline", str(base)]) == 1
    assert gate.main([str(cur), "--baseline", str(base), "--normalize", "copy"]) == 0


def test_copy_normalization_needs_the_copy_time(tmp_path):
    base = one(tmp_path, "base.json", samples(MEDIAN_S, seed=1), copy_s=None)
    cur = one(tmp_path, "cur.json", samples(MEDIAN_S, seed=2))
    with pytest.raises(ValueError, match="copy_equivalent_s"):
        gate.compare(load_run(base), load_run(cur), normalize="copy")


def test_format_table_units_and_columns():
    assert gate.format_seconds(512e-9) == "512 ns"
    assert gate.format_seconds(1.234e-6) == "1.23 µs"
    assert gate.format_seconds(12.34e-3) == "12.3 ms"
    assert gate.format_seconds(0.9999) == "1.00 s"
    assert gate.format_seconds(42.0) == "42.0 s"
    comparison = gate.Comparison(
        name="test_loss[a]",
        key=KEY,
        baseline_median=2e-3,
        current_median=2.6e-3,
        ratio=1.3,
        p_value=1.5e-5,
        verdict="regression",
    )
    lines = gate.format_table([comparison]).splitlines()
    assert lines[0].startswith("| benchmark | baseline median | current median | ratio |")
    assert lines[2] == "| test_loss[a] | 2.00 ms | 2.60 ms | 1.300× | 1.5e-05 | regression |"
    normalized = dataclasses.replace(comparison, baseline_median=2.0, current_median=2.6)
    normalized = dataclasses.replace(normalized, normalize="copy", note="a note")
    table = gate.format_table([normalized])
    assert "| test_loss[a] | 2.00× copy | 2.60× copy | 1.300× |" in table
    assert table.splitlines()[-1] == "- test_loss[a]: a note"


def usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as raised:
        gate.main(argv)
    assert raised.value.code == 2
    return capsys.readouterr().err


def assert_one_line(err: str) -> None:
    assert err.startswith("verify bench-compare: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "make_argv",
    [
        lambda tmp: [str(tmp / "absent.json"), "--baseline", str(tmp / "base.json")],
        lambda tmp: [str(tmp / "cur.json"), "--baseline", str(tmp / "absent.json")],
        lambda tmp: [str(tmp / "not-json.json"), "--baseline", str(tmp / "base.json")],
        lambda tmp: [str(tmp / "no-benchmarks.json"), "--baseline", str(tmp / "base.json")],
        lambda tmp: [str(tmp / "bad-entry.json"), "--baseline", str(tmp / "base.json")],
        lambda tmp: [str(tmp / "cur.json"), "--storage", str(tmp / "empty")],
        lambda tmp: [str(tmp / "cur.json"), "--storage", str(tmp / "absent")],
        lambda tmp: [str(tmp / "cur.json"), "--baseline", str(tmp / "base.json"), "--threshold=0"],
        lambda tmp: [str(tmp / "cur.json"), "--baseline", str(tmp / "base.json"), "--alpha", "1"],
        lambda tmp: [
            str(tmp / "cur.json"),
            "--baseline",
            str(tmp / "base.json"),
            "--normalize",
            "copy",
        ],
    ],
    ids=[
        "missing-current",
        "missing-baseline",
        "not-json",
        "no-benchmarks-list",
        "bad-entry",
        "empty-storage",
        "absent-storage",
        "zero-threshold",
        "alpha-1",
        "no-copy-time",
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, make_argv):
    one(tmp_path, "base.json", samples(MEDIAN_S, seed=1), copy_s=None)
    one(tmp_path, "cur.json", samples(MEDIAN_S, seed=2))
    (tmp_path / "not-json.json").write_text("{not json")
    (tmp_path / "no-benchmarks.json").write_text(json.dumps({"machine_info": {}}))
    (tmp_path / "bad-entry.json").write_text(json.dumps({"benchmarks": [{"stats": {}}]}))
    (tmp_path / "empty").mkdir()
    assert gate.main(make_argv(tmp_path)) == 2
    captured = capsys.readouterr()
    assert_one_line(captured.err)
    assert captured.out == ""


@pytest.mark.parametrize("argv", [["x.json", "--threshold", "abc"], [], ["x.json", "--bogus"]])
def test_argument_errors_exit_2_with_one_line(capsys, argv):
    assert_one_line(usage_error(capsys, argv))


def test_find_baseline_picks_the_highest_counter(tmp_path):
    storage = tmp_path / ".benchmarks"
    machine = storage / "cpu-test" / "Linux-CPython-3.11-64bit"
    data = [entry(KEY, samples(MEDIAN_S))]
    older = write_run(machine / "0002_abc123_20240101_000000.json", data)
    newest = write_run(machine / "0010_def456_20230101_000000.json", data)
    write_run(machine / "0009_fff000_20250101_000000.json", data)
    write_run(storage / "results.json", data)  # not a saved run: never a candidate
    os.utime(older, (2e9, 2e9))  # the latest mtime does not beat a higher counter
    assert gate.find_baseline(storage) == newest
    assert gate.find_baseline(storage, exclude=newest).name.startswith("0009_")
    # Equal counters (two machine folders): the later modification time wins.
    twin = write_run(storage / "cpu-test" / "other-machine" / "0010_aaa_x.json", data)
    os.utime(newest, (1e9, 1e9))
    os.utime(twin, (1.5e9, 1.5e9))
    assert gate.find_baseline(storage) == twin


def test_find_baseline_keeps_to_the_device_kind_and_errors_when_none(tmp_path):
    storage = tmp_path / ".benchmarks"
    data = [entry(KEY, samples(MEDIAN_S))]
    cpu = write_run(storage / "m" / "0001_a.json", data, kind="cpu-test")
    write_run(storage / "m" / "0002_b.json", data, kind="cuda-H200")
    assert gate.find_baseline(storage, device_kind="cpu-test") == cpu
    with pytest.raises(ValueError, match="no saved benchmark run from a cuda-H100"):
        gate.find_baseline(storage, device_kind="cuda-H100")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no saved benchmark run under"):
        gate.find_baseline(empty)


def test_main_finds_the_baseline_in_storage_and_skips_the_current_run(tmp_path, capsys):
    storage = tmp_path / ".benchmarks" / "cpu-test" / "machine"
    base = write_run(storage / "0001_a.json", [entry(KEY, samples(MEDIAN_S, seed=1))])
    cur = write_run(storage / "0002_b.json", [entry(KEY, samples(1.3 * MEDIAN_S, seed=2))])
    assert gate.main([str(cur), "--storage", str(tmp_path / ".benchmarks")]) == 1
    assert f"baseline {base}" in capsys.readouterr().out


def test_parser_pieces_for_the_verify_subcommand():
    parser = gate.build_parser()
    assert parser.prog == "verify bench-compare"
    args = parser.parse_args(["cur.json"])
    assert (args.threshold, args.alpha, args.normalize, args.storage) == (
        0.10,
        0.01,
        "none",
        ".benchmarks",
    )
    assert args.run is gate.run


# Several baseline runs: the run-to-run spread widens the threshold ----------------------------

RUN_SHIFTS = (0.8, 1.0, 1.3)
"""Whole-run speed shifts of three baseline runs of unchanged code, as a shared VM shows."""


def shifted_runs(tmp_path: Path) -> list[Path]:
    return [
        write_run(
            tmp_path / "storage" / "machine" / f"000{i + 1}_run.json",
            [entry(KEY, samples(shift * MEDIAN_S, seed=10 + i))],
        )
        for i, shift in enumerate(RUN_SHIFTS)
    ]


def test_pooled_baseline_median_samples_and_spread(tmp_path):
    runs = [load_run(p) for p in shifted_runs(tmp_path)]
    pooled, spread = gate.pool_runs(runs)
    (record,) = pooled.records
    assert record.median_s == pytest.approx(runs[1].records[0].median_s)
    assert len(record.samples) == 3 * 30
    slow, fast = spread[KEY]
    assert slow == pytest.approx(1.3, rel=0.05) and fast == pytest.approx(1 / 0.8, rel=0.05)
    assert gate.pool_runs(runs[:1]) == (runs[0], {})


def test_a_shift_within_the_baseline_runs_spread_passes_and_a_larger_one_fails(tmp_path):
    baselines = shifted_runs(tmp_path)
    rerun = one(tmp_path, "rerun.json", samples(1.25 * MEDIAN_S, seed=20))
    planted = one(tmp_path, "planted.json", samples(2.0 * MEDIAN_S, seed=21))
    single = ["--baseline", str(baselines[1])]
    assert gate.main([str(rerun), *single]) == 1  # one run: a whole-run shift looks like a change
    pooled = [arg for path in baselines for arg in ("--baseline", str(path))]
    assert gate.main([str(rerun), *pooled]) == 0
    assert gate.main([str(planted), *pooled]) == 1


def test_runs_pools_the_newest_saved_runs(tmp_path, capsys):
    shifted_runs(tmp_path)
    rerun = one(tmp_path, "rerun.json", samples(1.25 * MEDIAN_S, seed=20))
    storage = str(tmp_path / "storage")
    assert gate.main([str(rerun), "--storage", storage, "--runs", "3"]) == 0
    assert "0001_run.json" in capsys.readouterr().out.splitlines()[-1]
    assert len(gate.find_baselines(tmp_path / "storage", 2)) == 2
    assert gate.main([str(rerun), "--storage", storage, "--runs", "0"]) == 2


def test_setup_warnings_name_a_different_device_kind_or_malloc_setting():
    keep = {"MALLOC_MMAP_MAX_": "0"}
    same = {"verify_device_kind": "cpu-a", "malloc_settings": keep}
    assert gate.setup_warnings(same, dict(same), "none") == []
    (kind,) = gate.setup_warnings(same, {**same, "verify_device_kind": "cpu-b"}, "none")
    assert "cpu-a" in kind and "--normalize copy" in kind
    assert gate.setup_warnings(same, {**same, "verify_device_kind": "cpu-b"}, "copy") == []
    (malloc,) = gate.setup_warnings(same, {**same, "malloc_settings": {}}, "none")
    assert "MALLOC" in malloc and "none" in malloc
    # Runs saved before the setting was recorded carry no key: nothing to compare.
    assert gate.setup_warnings({"verify_device_kind": "cpu-a"}, same, "none") == []


def test_a_run_without_the_baselines_malloc_settings_warns_on_stderr(tmp_path, capsys):
    data = samples(MEDIAN_S, seed=1)
    base = write_run(tmp_path / "base.json", [entry(KEY, data)])
    cur = write_run(tmp_path / "cur.json", [entry(KEY, data)])
    for path, settings in ((base, {"MALLOC_MMAP_MAX_": "0"}), (cur, {})):
        document = json.loads(path.read_text())
        document["machine_info"]["malloc_settings"] = settings
        path.write_text(json.dumps(document))
    assert gate.main([str(cur), "--baseline", str(base)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning: baseline ran with MALLOC settings" in err[0]


def test_benchmarks_only_in_the_baseline_are_one_line_naming_the_first_five(tmp_path):
    keys = [f"benchmarks/test_losses.py::test_loss[case{i}]" for i in range(8)]
    base = write_run(tmp_path / "base.json", [entry(k, samples(MEDIAN_S)) for k in keys])
    cur = write_run(tmp_path / "cur.json", [entry(keys[0], samples(MEDIAN_S, seed=3))])
    table = gate.format_table(gate.compare(load_run(base), load_run(cur)))
    assert table.count("| test_loss[") == 1
    named = ", ".join(f"test_loss[case{i}]" for i in range(1, 6))
    assert f"- only in the baseline (7): {named} and 2 more" in table
