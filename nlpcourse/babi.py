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
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .data import verified_path

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
