"""bAbI questions as tensors: a word vocabulary, stories as memory slots, and train/validation/test splits.

A story becomes ``M`` memory slots of ``J`` word ids each. Slot ``i`` holds the statement ``i`` steps
back in time (slot 0 is the most recent), so that the same slot always means the same age whatever
the story's length; that is what temporal encoding learns (Sukhbaatar et al. 2015, section 4.1).
Unused slots and word positions hold the null id 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .babi import BabiQuestion, load_task, words
from .sequence_tasks import words_by_frequency

NULL_ID = 0
NULL = "<null>"


class QAVocabulary:
    """Words of the statements and questions, and every answer as one token (``"n,s"`` in task 19).

    Id 0 is the null word used for padding; the other words are numbered by frequency.
    """

    def __init__(self, questions: Iterable[BabiQuestion]) -> None:
        texts: list[list[str]] = []
        for question in questions:
            texts.extend(words(sentence) for sentence in (*question.story, question.question))
            texts.append([question.answer])
        self.words = [NULL, *words_by_frequency(texts)]
        self.ids = {word: index for index, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: str, length: int) -> list[int]:
        """The ids of a sentence's words, null-padded to ``length``.

        Raises:
            KeyError: for a word that is not in the vocabulary.
            ValueError: when the sentence has more than ``length`` words.
        """
        ids = [self.ids[word] for word in words(sentence)]
        if len(ids) > length:
            raise ValueError(f"{sentence!r} has {len(ids)} words, more than the sentence length {length}")
        return ids + [NULL_ID] * (length - len(ids))


@dataclass
class QATensors:
    """``N`` questions with their stories, ready for a model.

    Attributes:
        stories: ``(N, M, J)`` word ids; slot 0 is the most recent statement.
        questions: ``(N, J)`` word ids.
        answers: ``(N,)`` vocabulary ids of the answers.
        memory_mask: ``(N, M)`` bool, True at the slots that hold a statement.
        supporting: for each question, the slots of its supporting statements.
    """

    stories: torch.Tensor
    questions: torch.Tensor
    answers: torch.Tensor
    memory_mask: torch.Tensor
    supporting: list[tuple[int, ...]]

    def __len__(self) -> int:
        return len(self.answers)

    def subset(self, indices: Sequence[int]) -> QATensors:
        """The questions at ``indices``, in that order."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return QATensors(self.stories[index], self.questions[index], self.answers[index], self.memory_mask[index],
                         [self.supporting[i] for i in index.tolist()])


def encode_questions(questions: Sequence[BabiQuestion], vocabulary: QAVocabulary, memory_size: int,
                     sentence_length: int) -> QATensors:
    """Tensors of ``questions``; stories longer than ``memory_size`` keep their most recent statements."""
    count = len(questions)
    stories = torch.zeros(count, memory_size, sentence_length, dtype=torch.long)
    mask = torch.zeros(count, memory_size, dtype=torch.bool)
    supporting = []
    for row, question in enumerate(questions):
        recent_first = question.story[::-1][:memory_size]
        for slot, sentence in enumerate(recent_first):
            stories[row, slot] = torch.tensor(vocabulary.encode(sentence, sentence_length))
        mask[row, :len(recent_first)] = True
        last = len(question.story) - 1
        supporting.append(tuple(sorted(last - p for p in question.supporting if last - p < memory_size)))
    questions_ = torch.tensor([vocabulary.encode(q.question, sentence_length) for q in questions], dtype=torch.long)
    answers = torch.tensor([vocabulary.ids[q.answer] for q in questions], dtype=torch.long)
    return QATensors(stories, questions_, answers, mask, supporting)


@dataclass
class TaskData:
    """One bAbI task split into training, validation (the last ``valid_fraction`` of a shuffled
    training file) and test questions, with the vocabulary and sizes the model needs."""

    task: int
    vocabulary: QAVocabulary
    train: QATensors
    valid: QATensors
    test: QATensors
    memory_size: int
    sentence_length: int


def load_task_data(task: int, *, memory_size: int = 50, valid_fraction: float = 0.1, seed: int = 0,
                   train_questions: int | None = None) -> TaskData:
    """Load, encode and split a task of the shipped 1k bAbI data.

    The vocabulary covers the training and test files (as in the paper's code; no answer is given
    away, the test file only adds no new words). ``memory_size`` is the paper's window of 50 recent
    statements, cut further to the longest story in the task; ``train_questions`` keeps only the
    first questions of the shuffled training file (smaller runs).
    """
    train_file, test_file = load_task(task, "train", memory_size), load_task(task, "test", memory_size)
    vocabulary = QAVocabulary([*train_file, *test_file])
    every = [*train_file, *test_file]
    sentence_length = max(len(words(s)) for q in every for s in (*q.story, q.question))
    memory_size = min(memory_size, max(len(q.story) for q in every))
    train_all = encode_questions(train_file, vocabulary, memory_size, sentence_length)
    order = torch.randperm(len(train_all), generator=torch.Generator().manual_seed(seed)).tolist()
    valid_count = round(valid_fraction * len(order))
    train_order = order[valid_count:]
    if train_questions is not None:
        train_order = train_order[:train_questions]
    return TaskData(task, vocabulary, train_all.subset(train_order), train_all.subset(order[:valid_count]),
                    encode_questions(test_file, vocabulary, memory_size, sentence_length), memory_size,
                    sentence_length)
