"""The benchmark results table (``verify.benchmarking.bench_table``) and picture (``plot``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.benchmarking import bench_table
from verify.benchmarking import plot as bench_plot
from verify.benchmarking.records import BenchRecord, load_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MACHINE = {
    "cpu": {"brand_raw": "Example CPU 9000"},
    "python_version": "3.11.7",
    "verify_device_kind": "cuda-Example-GPU",
    "gpu_name": "Example GPU",
    "gpu_driver": "555.42",
    "torch_version": "2.13.0",
    "cuda_version": "12.8",
    "copy_gbps": {"cuda": 3000.0, "cpu": 20.0},
}


def extra(
    loss,
    elements,
    *,
    variant="",
    device="cuda",
    dtype="float32",
    mode="forward",
    implementation="torch",
    median_s=1e-3,
    copy_gbps=3000.0,
    peak=None,
):
    nbytes = 4 * elements
    achieved = nbytes / median_s / 1e9
    return {
        "loss": loss,
        "variant": variant,
        "implementation": implementation,
        "device": device,
        "dtype": dtype,
        "mode": mode,
        "workload": "regression",
        "shape": str(elements),
        "elements": elements,
        "min_bytes": nbytes,
        "input_bytes": nbytes,
        "achieved_gbps": achieved,
        "copy_gbps": copy_gbps,
        "copy_equivalent_s": nbytes / (copy_gbps * 1e9),
        "fraction_of_copy": achieved / copy_gbps,
        "peak_memory_bytes": peak,
        "iterations": 10,
        "rotating_copies": 2,
        "timer": "synchronizing",
    }


def entry(name, median_s, extra_info=None):
    benchmark = {
        "name": name,
        "fullname": f"benchmarks/test_losses.py::{name}",
        "stats": {"median": median_s, "data": [median_s] * 3},
    }
    if extra_info is not None:
        benchmark["extra_info"] = extra_info
    return benchmark


def write(path: Path, benchmarks, machine_info=MACHINE) -> Path:
    path.write_text(json.dumps({"machine_info": machine_info, "benchmarks": benchmarks}))
    return path


def synthetic(path: Path, implementation="torch") -> Path:
    """Two losses at three sizes, forward on CUDA, plus one forward+backward and one CPU run."""
    benchmarks = []
    for loss, variant in (("mse", ""), ("cross_entropy", "label_smoothing=0.1")):
        for elements, median in ((1_000, 8e-6), (1_000_000, 4e-5), (100_000_000, 2.5e-3)):
            info = extra(
                loss,
                elements,
                variant=variant,
                median_s=median,
                peak=8 * elements,
                implementation=implementation,
            )
            benchmarks.append(entry(f"test_{loss}[{elements}]", median, info))
    info = extra("mse", 1_000_000, mode="forward+backward", median_s=9e-5, peak=12_000_000)
    benchmarks.append(entry("test_mse_backward[1000000]", 9e-5, info))
    info = extra("mse", 1_000_000, device="cpu", median_s=0.4, copy_gbps=20.0)
    benchmarks.append(entry("test_mse_cpu[1000000]", 0.4, info))
    return write(path, benchmarks)


def table_rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def column(name: str) -> int:
    return bench_table.HEADER.index(name)


# --- formatting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (8.5e-7, "850 ns"),
        (1.234e-5, "12.3 µs"),
        (9.9974e-4, "1.00 ms"),
        (2.5e-3, "2.50 ms"),
        (0.4, "400 ms"),
        (12.0, "12.0 s"),
        (None, "—"),
    ],
)
def test_durations_are_shown_in_adaptive_units(seconds, text):
    assert bench_table.format_seconds(seconds) == text


def test_percentages_and_bandwidths_are_formatted():
    assert bench_table.format_fraction(0.4567) == "45.7%"
    assert bench_table.format_fraction(1.0) == "100.0%"
    assert bench_table.format_fraction(0.0037) == "0.37%"
    assert bench_table.format_gbps(1234.5) == "1234"
    assert bench_table.format_gbps(12.345) == "12.3"
    assert bench_table.format_bytes(4_000_000) == "4.00 MB"
    assert bench_table.format_bytes(512) == "512 B"


# --- the table --------------------------------------------------------------------------------


def test_the_table_has_one_sorted_row_per_benchmark(tmp_path):
    run = load_run(synthetic(tmp_path / "run.json"))
    rows = table_rows(bench_table.markdown_table(run.records))
    assert len(rows) == len(run.records) == 8
    assert all(len(r) == len(bench_table.HEADER) for r in rows)
    order = [
        (r[column("loss")], r[column("device")], r[column("mode")], r[column("shape")])
        for r in rows
    ]
    assert order == [
        ("cross_entropy (label_smoothing=0.1)", "cuda", "forward", "1000"),
        ("cross_entropy (label_smoothing=0.1)", "cuda", "forward", "1000000"),
        ("cross_entropy (label_smoothing=0.1)", "cuda", "forward", "100000000"),
        ("mse", "cpu", "forward", "1000000"),
        ("mse", "cuda", "forward", "1000"),
        ("mse", "cuda", "forward", "1000000"),
        ("mse", "cuda", "forward", "100000000"),
        ("mse", "cuda", "forward+backward", "1000000"),
    ]


def test_a_row_shows_time_bandwidth_fraction_and_memory(tmp_path):
    run = load_run(synthetic(tmp_path / "run.json"))
    rows = table_rows(bench_table.markdown_table(run.records))
    large = rows[6]  # mse, cuda, forward, 10^8 elements: 400 MB in 2.5 ms
    assert large[column("median")] == "2.50 ms"
    assert large[column("min bytes")] == "400 MB"
    assert large[column("achieved GB/s")] == "160"
    assert large[column("% of copy")] == "5.3%"
    assert large[column("peak mem / input")] == "2.00×"
    small = rows[4]  # 4 kB in 8 µs
    assert small[column("median")] == "8.00 µs"
    assert small[column("achieved GB/s")] == "0.500"
    assert small[column("% of copy")] == "0.017%"
    backward = rows[7]
    assert backward[column("peak mem / input")] == "3.00×"
    cpu = rows[3]  # peak memory is not measured on the CPU
    assert cpu[column("median")] == "400 ms"
    assert cpu[column("achieved GB/s")] == "0.0100"
    assert cpu[column("% of copy")] == "0.05%"
    assert cpu[column("peak mem / input")] == "—"


def test_missing_fields_degrade_to_what_is_known(tmp_path):
    partial = {"loss": "huber", "device": "cuda", "min_bytes": 2_000_000, "copy_gbps": 1000.0}
    path = write(
        tmp_path / "partial.json",
        [entry("test_plain", 3e-7), entry("test_huber", 1e-5, partial)],
        machine_info={},
    )
    run = load_run(path)
    rows = table_rows(bench_table.markdown_table(run.records))
    huber, plain = rows
    assert plain[column("loss")] == "test_plain"
    assert plain[column("median")] == "300 ns"
    assert all(plain[column(c)] == "—" for c in bench_table.HEADER if c not in ("loss", "median"))
    # achieved GB/s and the fraction are derived from min bytes, the median and the copy GB/s
    assert huber[column("achieved GB/s")] == "200"
    assert huber[column("% of copy")] == "20.0%"
    assert huber[column("peak mem / input")] == "—"
    assert huber[column("dtype")] == "—"
    assert bench_table.machine_header({}) == "**Machine:** not recorded.\n"
    document = bench_table.render(run)
    assert "| test_plain |" in document


def test_pipes_in_cells_are_escaped():
    record = BenchRecord("t", "t", 1e-3, (), {"loss": "a|b"})
    assert "a\\|b" in bench_table.markdown_table([record])


def test_the_machine_header_names_the_machine():
    header = bench_table.machine_header(MACHINE)
    for text in (
        "`cuda-Example-GPU`",
        "GPU Example GPU (driver 555.42)",
        "CPU Example CPU 9000",
        "torch 2.13.0 (CUDA 12.8)",
        "copy bandwidth: cpu 20.0 GB/s, cuda 3000 GB/s",
    ):
        assert text in header
    assert "\n" not in header.rstrip("\n")
    cpu_only = bench_table.machine_header({"cpu_model": "Laptop CPU", "torch_version": "2.13.0"})
    assert cpu_only == "**Machine:** CPU Laptop CPU · torch 2.13.0.\n"


def test_render_is_a_full_document_and_takes_copy_bandwidth_from_records(tmp_path):
    info = {k: v for k, v in MACHINE.items() if k != "copy_gbps"}
    path = synthetic(tmp_path / "run.json")
    document = json.loads(path.read_text())
    write(path, document["benchmarks"], machine_info=info)
    text = bench_table.render(load_run(path))
    assert text.startswith("# Loss benchmarks\n")
    assert "copy bandwidth: cpu 20.0 GB/s, cuda 3000 GB/s" in text
    assert "8 benchmarks from `run.json`" in text
    assert "*min bytes*" in text and "*achieved GB/s*" in text and "*% of copy*" in text


# --- verify bench-table -----------------------------------------------------------------------


def test_bench_table_writes_the_file(tmp_path, capsys):
    results = synthetic(tmp_path / "run.json")
    output = tmp_path / "table.md"
    assert bench_table.main([str(results), "-o", str(output)]) == 0
    assert output.read_text() == bench_table.render(load_run(results))
    assert capsys.readouterr().err == ""


def test_bench_table_prints_to_stdout(tmp_path, capsys):
    results = synthetic(tmp_path / "run.json")
    assert bench_table.main([str(results)]) == 0
    assert capsys.readouterr().out == bench_table.render(load_run(results))


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"machine_info": {}}), json.dumps({"benchmarks": [{"name": "x"}]})],
    ids=["not-json", "no-benchmarks", "bad-entry"],
)
def test_bench_table_rejects_a_bad_file_in_one_line(tmp_path, capsys, content):
    results = tmp_path / "bad.json"
    results.write_text(content)
    assert bench_table.main([str(results)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("verify bench-table: error: ")
    assert captured.err.count("\n") == 1


def test_bench_table_rejects_a_missing_file(tmp_path, capsys):
    assert bench_table.main([str(tmp_path / "absent.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify bench-table: error: cannot read benchmark results")
    assert err.count("\n") == 1


def test_the_arguments_can_live_under_another_parser(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="verify")
    commands = parser.add_subparsers(dest="command")
    bench_table.add_arguments(commands.add_parser("bench-table"))
    args = parser.parse_args(["bench-table", str(tmp_path / "absent.json")])
    assert bench_table.run(args) == 2
    assert capsys.readouterr().err.startswith("verify bench-table: error: ")


# --- the picture ------------------------------------------------------------------------------


def test_series_are_one_line_per_loss_implementation_mode_dtype_device(tmp_path):
    run = load_run(synthetic(tmp_path / "run.json"))
    lines = bench_plot.series([run])
    keys = [line.key for line in lines]
    assert keys == [
        ("cross_entropy (label_smoothing=0.1)", "torch", "forward", "float32", "cuda"),
        ("mse", "torch", "forward", "float32", "cpu"),
        ("mse", "torch", "forward", "float32", "cuda"),
        ("mse", "torch", "forward+backward", "float32", "cuda"),
    ]
    sizes = [p[0] for p in lines[2].points]
    assert sizes == sorted(sizes) and len(sizes) == 3
    only = bench_plot.series([run], mode="forward", device="cuda", dtype="float32")
    assert [line.key[0] for line in only] == ["cross_entropy (label_smoothing=0.1)", "mse"]


def test_runs_sharing_a_series_are_told_apart_by_their_file(tmp_path):
    first = load_run(synthetic(tmp_path / "before.json"))
    second = load_run(synthetic(tmp_path / "after.json"))
    keys = {line.key for line in bench_plot.series([first, second], device="cpu")}
    assert keys == {
        ("mse", "torch", "forward", "float32", "cpu", "before"),
        ("mse", "torch", "forward", "float32", "cpu", "after"),
    }


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    torch_run = load_run(synthetic(tmp_path / "torch.json"))
    other_run = load_run(synthetic(tmp_path / "other.json", implementation="mylib:mse"))
    output = bench_plot.plot([torch_run, other_run], tmp_path / "out" / "bench.png")
    assert output == tmp_path / "out" / "bench.png"
    data = output.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_bench_plot_writes_the_file_with_filters(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    results = synthetic(tmp_path / "run.json")
    output = tmp_path / "plot.png"
    argv = [str(results), "-o", str(output), "--mode", "forward", "--device", "cuda"]
    assert bench_plot.main([*argv, "--dtype", "float32"]) == 0
    assert output.read_bytes().startswith(PNG_SIGNATURE)
    assert capsys.readouterr().err == ""


def test_bench_plot_exits_2_when_the_filters_leave_nothing(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    results = synthetic(tmp_path / "run.json")
    output = tmp_path / "plot.png"
    assert bench_plot.main([str(results), "-o", str(output), "--dtype", "bfloat16"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "verify bench-plot: error: nothing to plot: no benchmark with a recorded "
        "size (min_bytes) matches dtype=bfloat16\n"
    )
    assert not output.exists()


def test_bench_plot_exits_2_on_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert bench_plot.main([str(synthetic(tmp_path / "run.json")), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify bench-plot: error: ") and err.count("\n") == 1


def test_a_missing_matplotlib_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    def missing():
        raise bench_plot.MissingMatplotlib(
            "the plot needs matplotlib: pip install 'loss-verify[plot]'"
        )

    monkeypatch.setattr(bench_plot, "_import_matplotlib", missing)
    assert bench_plot.main([str(synthetic(tmp_path / "run.json"))]) == 1
    err = capsys.readouterr().err
    assert err == (
        "verify bench-plot: error: the plot needs matplotlib: pip install 'loss-verify[plot]'\n"
    )
