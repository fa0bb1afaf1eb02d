"""The word2vec benchmark runs on a corpus head and prints a table whose ratios match its numbers."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROWS = ["wall time (s)", "words/second", "pairs/second", "analogy accuracy", "analogy coverage",
        "WordSim353 Spearman", "SimLex-999 Spearman"]
ROW = re.compile(r"^(?P<metric>\S.*?)\s{2,}(?P<ours>\S+)\s+(?P<gensim>\S+)\s+(?P<ratio>\S+)$")


def half_unit(printed: str) -> float:
    """Half of the last printed digit: how far the printed number may be from the true one."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0 ** -decimals


def ratio_is_consistent(ours: str, gensim: str, ratio: str) -> bool:
    """Some ours/gensim within the rounding of the two printed numbers rounds to the printed ratio."""
    low_high = [(float(text) - half_unit(text), float(text) + half_unit(text)) for text in (ours, gensim)]
    if low_high[1][0] <= 0 <= low_high[1][1]:
        return True  # a denominator this close to zero allows any ratio
    quotients = [a / b for a, b in itertools.product(*low_high)]
    return min(quotients) - half_unit(ratio) <= float(ratio) <= max(quotients) + half_unit(ratio)


@pytest.mark.parametrize(("ours", "gensim", "ratio", "consistent"), [
    ("160.00", "24.00", "6.667", True),
    ("160.00", "24.00", "6.700", False),
    ("0.0763", "0.3000", "0.254", True),
    ("0.0763", "0.3000", "0.300", False),
    ("0.0001", "0.0000", "-2.000", True),
])
def test_ratio_check(ours: str, gensim: str, ratio: str, consistent: bool) -> None:
    assert ratio_is_consistent(ours, gensim, ratio) is consistent


def test_word2vec_benchmark_prints_a_consistent_table(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/word2vec_vs_gensim.py", "--tokens", "20000", "--epochs", "1",
         "--device", "cpu", "--workers", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=300, cwd=repo,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("corpus: 20,000 tokens,") and "same vocabulary in both: yes" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("metric"))
    assert lines[header].split() == ["metric", "ours", "gensim", "ours/gensim"]
    table = {match["metric"]: match for match in map(ROW.match, lines[header + 1:]) if match}
    assert list(table) == ROWS
    assert table["pairs/second"]["gensim"] == table["pairs/second"]["ratio"] == "-"
    for metric, row in table.items():
        if row["ratio"] == "-":
            assert metric == "pairs/second" or float(row["gensim"]) == 0
            continue
        assert ratio_is_consistent(row["ours"], row["gensim"], row["ratio"]), row.group(0)
    # words/second is corpus tokens x epochs / wall time, for both
    for column in ("ours", "gensim"):
        seconds = float(table["wall time (s)"][column])
        rate = float(table["words/second"][column])
        assert 20_000 / (seconds + 0.005) - 0.5 <= rate <= 20_000 / max(seconds - 0.005, 1e-9) + 0.5
    assert table["analogy coverage"]["ours"] == table["analogy coverage"]["gensim"]  # same vocabulary
    assert float(table["pairs/second"]["ours"]) > 0
