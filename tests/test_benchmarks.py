"""Benchmarks are scripts, not timed tests: here they only have to run and agree with the reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_naive_bayes_benchmark_runs_and_agrees(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo / "benchmarks/naive_bayes_vs_sklearn.py"), "--repeats", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "ours/sklearn" in result.stdout
    assert "predictions identical on 100.0%" in result.stdout


def test_rnn_speed_benchmark_runs_and_gradients_agree(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo / "benchmarks/rnn_speed.py"), "--batch", "3", "--seq", "5", "--input", "4",
         "--hidden", "6", "--repeats", "1", "--device", "cpu", "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "ours/nn.RNN" in result.stdout and "numpy/autograd" in result.stdout
    timed = [line.split() for line in lines if line.startswith("cpu ")]
    assert [row[1] for row in timed] == ["forward", "forward+backward"]
    assert all(float(row[-1]) > 0 for row in timed)  # the ratio column
    assert any(line.startswith("hidden states agree") for line in lines)
    assert any(line.startswith("gradients agree (W_xh, W_hh, b, x, h0)") for line in lines)


def test_recurrent_cells_benchmark_runs_and_outputs_agree(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo / "benchmarks/recurrent_cells.py"), "--batch", "3", "--seq", "5", "--input", "4",
         "--hidden", "6", "--repeats", "1", "--device", "cpu", "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "hand/nn" in result.stdout and "script/nn" in result.stdout
    timed = [line.split() for line in lines if line.startswith("cpu ")]
    assert [(row[1], row[2]) for row in timed] == [
        ("GRU", "forward"), ("GRU", "forward+backward"), ("LSTM", "forward"), ("LSTM", "forward+backward")]
    assert all(float(row[6]) > 0 for row in timed)  # the hand/nn ratio column
    scripted = not any(line.startswith("TorchScript skipped") for line in lines)
    assert all((float(row[7]) > 0) if scripted else row[4] == "skipped" for row in timed)  # script/nn
    assert any(line.startswith("outputs agree: the hand-written GRU and LSTM") for line in lines)


def test_autograde_throughput_benchmark_times_every_method_and_scores_agree(repo: Path) -> None:
    methods = ["nbgrader", "local", "dask"]
    result = subprocess.run(
        [sys.executable, str(repo / "benchmarks/autograde_throughput.py"), "--students", "3",
         "--methods", ",".join(methods)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("machine: ")
    rows = [line.split() for line in lines if line.split() and line.split()[0] in methods]
    assert [row[0] for row in rows] == methods
    assert all(float(value) > 0 for row in rows for value in row[1:4])  # seconds, submissions/min, speed-up
    assert float(rows[0][3]) == 1.0  # the first method is the reference of the speed-up column
    assert "scores agree on 3 of 3 submissions" in lines
