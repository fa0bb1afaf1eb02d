"""Datasets shipped in ``data/``, each file verified against ``data/SHA256SUMS`` before use.

The registry is the checksum file itself: one ``<sha256>  <path relative to data/>`` line per file.
Set ``NLPCOURSE_DATA`` to read the same layout from another folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SENTIMENT_LABELS = ("negative", "positive")


class DataIntegrityError(RuntimeError):
    """A data file is missing, unregistered, or its sha256 does not match ``data/SHA256SUMS``."""


def data_dir() -> Path:
    """The folder holding the course data (``data/`` in the repository unless ``NLPCOURSE_DATA`` is set)."""
    override = os.environ.get("NLPCOURSE_DATA")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def registered_checksums(root: Path | None = None) -> dict[str, str]:
    """Map ``relative path -> sha256`` as listed in ``SHA256SUMS``."""
    sums_file = (root or data_dir()) / "SHA256SUMS"
    if not sums_file.is_file():
        raise DataIntegrityError(f"checksum list {sums_file} is missing")
    checksums = {}
    for line in sums_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            checksums[name.strip()] = digest
    return checksums


def verified_path(relative: str) -> Path:
    """Return ``data/<relative>`` after checking its sha256 against the registry.

    Raises:
        DataIntegrityError: naming the file, when it is not registered, missing, or altered.
    """
    root = data_dir()
    expected = registered_checksums(root).get(relative)
    if expected is None:
        raise DataIntegrityError(f"{relative} is not listed in {root / 'SHA256SUMS'}")
    path = root / relative
    if not path.is_file():
        raise DataIntegrityError(f"data file {path} is missing (expected sha256 {expected})")
    stat = path.stat()
    actual = _cached_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    if actual != expected:
        raise DataIntegrityError(
            f"data file {path} is corrupt or was changed: sha256 {actual}, expected {expected}"
        )
    return path


@lru_cache(maxsize=64)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with integer labels. ``labels`` has shape ``(len(texts),)``; 1 = positive, 0 = negative."""

    texts: tuple[str, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, n: int | None) -> "LabelledTexts":
        """The first ``n`` examples (all of them for ``None``); splits are already shuffled."""
        if n is None:
            return self
        return LabelledTexts(self.texts[:n], self.labels[:n])


def read_rt_polarity_lines(name: str) -> list[str]:
    """Lines of ``sentiment/rt-polarity.<name>`` (``pos`` or ``neg``), decoded as cp1252.

    The files are Windows-1252, not UTF-8 or Latin-1: under Latin-1, byte 0x85 becomes U+0085,
    which ``str.splitlines`` treats as a line break. Splitting on ``"\\n"`` alone keeps 5,331 lines.
    """
    raw = verified_path(f"sentiment/rt-polarity.{name}").read_bytes().decode("cp1252")
    return [line.strip() for line in raw.split("\n") if line.strip()]


def load_rt_polarity(split: str = "train", *, test_fraction: float = 0.2, seed: int = 0) -> LabelledTexts:
    """Pang & Lee's rt-polarity sentences (5,331 positive, 5,331 negative) with a fixed split.

    The split is stratified: each class is shuffled with ``numpy.random.default_rng(seed)`` and its
    last ``test_fraction`` goes to ``test``; both parts are then shuffled together. ``split`` is
    ``"train"``, ``"test"`` or ``"all"``. The default split has 8,530 train and 2,132 test sentences.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    for label, name in enumerate(("neg", "pos")):
        lines = read_rt_polarity_lines(name)
        order = rng.permutation(len(lines))
        n_test = int(round(len(lines) * test_fraction))
        for rank, index in enumerate(order):
            parts["test" if rank >= len(lines) - n_test else "train"].append((lines[index], label))
    chosen = parts["train"] + parts["test"] if split == "all" else parts[split]
    chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    texts = tuple(text for text, _ in chosen)
    labels = np.array([label for _, label in chosen], dtype=np.int64)
    return LabelledTexts(texts, labels)
