from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from nlpcourse import data


def test_rt_polarity_split_sizes_and_balance() -> None:
    train, test = data.load_rt_polarity("train"), data.load_rt_polarity("test")
    assert (len(train), len(test)) == (8530, 2132)
    assert train.labels.mean() == test.labels.mean() == 0.5
    assert not set(train.texts) & set(test.texts) - _duplicated_lines()


def _duplicated_lines() -> set[str]:
    lines = data.read_rt_polarity_lines("pos") + data.read_rt_polarity_lines("neg")
    seen, dupes = set(), set()
    for line in lines:
        (dupes if line in seen else seen).add(line)
    return dupes


def test_rt_polarity_is_decoded_as_cp1252() -> None:
    pos = data.read_rt_polarity_lines("pos")
    assert len(pos) == 5331
    assert pos[0].startswith("the rock is destined to be the 21st century's new")
    assert any("é" in line for line in pos)
    assert not any("\x85" in line for line in pos)


def test_split_is_deterministic() -> None:
    first, second = data.load_rt_polarity("test"), data.load_rt_polarity("test")
    assert first.texts == second.texts
    np.testing.assert_array_equal(first.labels, second.labels)
    assert data.load_rt_polarity("test", seed=1).texts != first.texts


def test_take_keeps_prefix() -> None:
    train = data.load_rt_polarity("train")
    head = train.take(10)
    assert head.texts == train.texts[:10] and len(head.labels) == 10


def test_unknown_split_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="split must be"):
        data.load_rt_polarity("dev")


def test_corrupt_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data.data_dir() / "sentiment", copy / "sentiment")
    shutil.copy(data.data_dir() / "SHA256SUMS", copy / "SHA256SUMS")
    target = copy / "sentiment" / "rt-polarity.pos"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes() + b"tampered\n")
    monkeypatch.setenv("NLPCOURSE_DATA", str(copy))
    with pytest.raises(data.DataIntegrityError, match="rt-polarity.pos"):
        data.load_rt_polarity()


def test_missing_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "SHA256SUMS").write_text("00  sentiment/rt-polarity.pos\n")
    monkeypatch.setenv("NLPCOURSE_DATA", str(tmp_path))
    with pytest.raises(data.DataIntegrityError, match="missing"):
        data.verified_path("sentiment/rt-polarity.pos")


def test_every_registered_file_verifies() -> None:
    for name in data.registered_checksums():
        assert data.verified_path(name).is_file()
