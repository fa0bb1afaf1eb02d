"""The 20 bAbI question-answering tasks (Weston et al. 2015), v1.2, English, 1,000 questions per file.

A task file holds stories. Every line starts with its number within the story; number 1 starts a
new story. A line is either a statement (``1 Mary moved to the bathroom.``) or a question with its
answer and the numbers of the statements that support it, separated by tabs
(``3 Where is Mary? \\tbathroom\\t1``). A question is asked about the statements before it; the
question lines themselves are not part of the story a later question sees (as in Sukhbaatar et
al. 2015's memory networks).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .data import DataIntegrityError, sha256_of, verified_path
from .download import BLOCK_SIZE, atomic_write, cache_dir, fetch

TASKS = {
    1: "single-supporting-fact", 2: "two-supporting-facts", 3: "three-supporting-facts", 4: "two-arg-relations",
    5: "three-arg-relations", 6: "yes-no-questions", 7: "counting", 8: "lists-sets", 9: "simple-negation",
    10: "indefinite-knowledge", 11: "basic-coreference", 12: "conjunction", 13: "compound-coreference",
    14: "time-reasoning", 15: "basic-deduction", 16: "basic-induction", 17: "positional-reasoning",
    18: "size-reasoning", 19: "path-finding", 20: "agents-motivations",
}
_LINE = re.compile(r"^(\d+) (.*)$")


@dataclass(frozen=True)
class BabiQuestion:
    """A question with the story before it.

    ``story`` holds the statements in order (the most recent ``memory_size`` when the parser was given
    one); ``supporting`` are the positions in ``story`` of the statements that support the answer
    (those that fell out of the window are dropped). ``answer`` is as in the file: a word, or for task
    8 (lists) several words separated by commas.
    """

    story: tuple[str, ...]
    question: str
    answer: str
    supporting: tuple[int, ...]


def parse_babi(lines: Iterable[str], memory_size: int | None = None) -> list[BabiQuestion]:
    """Every question of a bAbI file, each with its own story, in file order.

    Raises:
        ValueError: naming the line, for a line that is neither a statement nor a question, or a
            supporting-fact number that is not an earlier statement of the same story.
    """
    questions: list[BabiQuestion] = []
    story: list[str] = []
    position_of: dict[int, int] = {}  # statement number in the file -> position in ``story``
    for line_number, line in enumerate(lines, start=1):
        line = line.rstrip("\n")
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"line {line_number} is not '<number> <text>': {line!r}")
        number, text = int(match.group(1)), match.group(2)
        if number == 1:
            story, position_of = [], {}
        if "\t" not in text:
            position_of[number] = len(story)
            story.append(text.strip())
            continue
        fields = text.split("\t")
        if len(fields) != 3:
            raise ValueError(f"line {line_number} has {len(fields) - 1} tabs; a question line needs 2: {line!r}")
        question, answer, support = (field.strip() for field in fields)
        try:
            positions = [position_of[int(n)] for n in support.split()]
        except KeyError as missing:
            raise ValueError(f"line {line_number}: supporting fact {missing} is not an earlier statement") from None
        first = 0 if memory_size is None else max(0, len(story) - memory_size)
        questions.append(BabiQuestion(tuple(story[first:]), question, answer,
                                      tuple(p - first for p in positions if p >= first)))
    return questions


def task_file(task: int, split: str) -> str:
    """The path under ``data/`` of a task's ``"train"`` or ``"test"`` file."""
    if task not in TASKS:
        raise ValueError(f"bAbI tasks are numbered 1 to 20, not {task}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return f"babi/en/qa{task}_{TASKS[task]}_{split}.txt.gz"


def load_task(task: int, split: str = "train", memory_size: int | None = 50) -> list[BabiQuestion]:
    """The 1,000 questions of one task's file, each story cut to its most recent ``memory_size``
    statements (50 as in Sukhbaatar et al. 2015; ``None`` keeps whole stories)."""
    with gzip.open(verified_path(task_file(task, split)), "rt", encoding="utf-8") as lines:
        return parse_babi(lines, memory_size)


def words(sentence: str) -> list[str]:
    """Lower-case words of a statement or question, without the final ``.`` or ``?``."""
    return re.findall(r"[a-z]+", sentence.lower())


BABI_ARCHIVE_URL = "https://dl.fbaipublicfiles.com/babi/tasks_1-20_v1-2.tar.gz"
# Other copies of the same archive, for ``url=``; any copy whose sha256 differs is refused.
BABI_ARCHIVE_MIRRORS = (
    "http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz",
    "https://s3.amazonaws.com/text-datasets/babi_tasks_1-20_v1-2.tar.gz",
)
# The archive's sha256 and size as published for the thespermwhale.com copy by Hugging Face's ``babi_qa`` loader
# (see data/babi/PROVENANCE.md).
BABI_ARCHIVE_SHA256 = "0364ebde659f14d11bc21744516c5ec49d3d06cb692733f66680771244998898"
BABI_ARCHIVE_BYTES = 15_719_851
_ARCHIVE_NAME = "tasks_1-20_v1-2.tar.gz"
_ARCHIVE_FOLDER = "tasks_1-20_v1-2"


def task_file_10k(task: int, split: str) -> str:
    """The path of a task's 10k file inside the archive's ``tasks_1-20_v1-2/`` folder and in the cache."""
    return "en-10k/" + Path(task_file(task, split)).name.removesuffix(".gz")


def load_task_10k(task: int, split: str = "train", memory_size: int | None = 50, *, url: str = BABI_ARCHIVE_URL,
                  cache: Path | None = None, sha256: str = BABI_ARCHIVE_SHA256) -> list[BabiQuestion]:
    """Like ``load_task``, from the 10k version (10,000 training questions per task; the test files are
    the 1k ones), downloaded once from ``url`` and kept in ``cache`` (``cache_dir()`` by default).
    ``sha256`` is the archive's expected digest.

    Raises:
        DataIntegrityError: when the archive's sha256 is not the published one, or a file does not
            match what was recorded or shipped (see ``fetch_task_10k``).
        DownloadError: when the file is not cached yet and the archive cannot be downloaded.
    """
    with open(fetch_task_10k(task, split, url=url, cache=cache, sha256=sha256), encoding="utf-8") as lines:
        return parse_babi(lines, memory_size)


def fetch_task_10k(task: int, split: str = "train", *, url: str = BABI_ARCHIVE_URL, cache: Path | None = None,
                   sha256: str = BABI_ARCHIVE_SHA256) -> Path:
    """The cached, uncompressed 10k file of a task, ``<cache>/babi/en-10k/<name>.txt``.

    A cached file is checked against the sha256 recorded next to it (``<name>.txt.sha256``) when it
    was extracted, and used without the network. Otherwise the archive is downloaded from ``url`` into
    the cache (once, for all tasks) and checked against ``sha256`` (the published digest by default);
    the file is then extracted from it and its sha256 recorded. A test file must also be identical to
    the shipped 1k test file. A cached file or archive that fails its check is removed from the cache.
    """
    name = task_file_10k(task, split)
    folder = (cache if cache is not None else cache_dir()) / "babi"
    path = folder / name
    manifest = _manifest_of(path)
    if path.is_file() and manifest.is_file():
        _check_cached(path, manifest)
        return path
    archive = _verified_archive(folder / _ARCHIVE_NAME, url, sha256)
    digest = _extract(archive, name, path, task_file(task, split) if split == "test" else None)
    with atomic_write(manifest) as output:
        output.write(f"{digest}  {path.name}\n".encode())
    return path


def _manifest_of(path: Path) -> Path:
    """Where the sha256 of a cached file, recorded when it was extracted, is kept."""
    return path.with_name(path.name + ".sha256")


def _check_cached(path: Path, manifest: Path) -> None:
    """Raise ``DataIntegrityError`` and remove the file and its record when the file changed since extraction."""
    recorded = manifest.read_text(encoding="utf-8").partition(" ")[0].strip()
    actual = sha256_of(path)
    if actual != recorded:
        path.unlink()
        manifest.unlink()
        raise DataIntegrityError(
            f"cached file {path} was changed: sha256 {actual}, recorded at extraction {recorded}; "
            "it was removed, and the next load extracts it again"
        )


def _verified_archive(archive: Path, url: str, sha256: str) -> Path:
    """The cached archive, downloaded from ``url`` first if absent; removed if its sha256 is not ``sha256``."""
    if not archive.is_file():
        fetch(url, archive)
    actual = sha256_of(archive)
    if actual != sha256:
        archive.unlink()
        raise DataIntegrityError(
            f"the archive from {url} has sha256 {actual}, expected {sha256}; it was removed from the cache"
        )
    return archive


def _extract(archive: Path, name: str, destination: Path, shipped: str | None) -> str:
    """Write the archive's ``name`` to ``destination`` and return its sha256.

    ``shipped`` is the 1k file under ``data/`` that the member must be identical to (the 10k test
    files are the 1k ones), or ``None``; on a difference nothing is written and ``DataIntegrityError``
    is raised.
    """
    expected = None if shipped is None else _uncompressed_sha256(shipped)
    with atomic_write(destination) as output:
        actual = _copy_member(archive, f"{_ARCHIVE_FOLDER}/{name}", output)
        if expected is not None and actual != expected:
            raise DataIntegrityError(
                f"{name} in {archive} differs from the shipped data/{shipped}: sha256 {actual}, expected "
                f"{expected}; it was not extracted"
            )
    return actual


def _uncompressed_sha256(relative: str) -> str:
    """The sha256 of the uncompressed content of a shipped ``.gz`` file, verified first."""
    return hashlib.sha256(gzip.decompress(verified_path(relative).read_bytes())).hexdigest()


def _copy_member(archive: Path, member: str, output: BinaryIO) -> str:
    """Copy one file of a ``.tar.gz`` archive to ``output`` and return the sha256 of its content."""
    digest = hashlib.sha256()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            source = tar.extractfile(member)
            if source is None:
                raise KeyError(f"{member} is not a regular file")
            for block in iter(lambda: source.read(BLOCK_SIZE), b""):
                digest.update(block)
                output.write(block)
    except (KeyError, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataIntegrityError(f"cannot read {member} from {archive} ({error})") from None
    return digest.hexdigest()
