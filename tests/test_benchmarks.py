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
