"""Small sequence tasks for recurrent networks: the adding problem, and padded batches of token ids."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

ADDING_BASELINE_MSE = 1.0 / 6.0  # always answering 1, the mean: the variance of a sum of two U(0, 1)
PAD, UNKNOWN = "<pad>", "<unk>"


def adding_problem(n: int, length: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` examples of the adding problem (Hochreiter & Schmidhuber 1997) with sequences of ``length`` steps.

    Each step carries two numbers: a value drawn from U(0, 1) and a marker that is 1 at exactly two
    steps, one in the first half and one in the second, and 0 elsewhere. The target is the sum of the
    two marked values. A model that ignores the input and answers 1 has mean squared error 1/6.

    Returns:
        inputs: (n, length, 2) float32, [value, marker] at each step; targets: (n,) float32.
    """
    if length < 2:
        raise ValueError(f"the adding problem needs at least 2 steps, not {length}")
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), values[rows, first] + values[rows, second]


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters, digits, inner apostrophes) and single punctuation marks."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", text.lower())


def words_by_frequency(texts: Sequence[Sequence[str]], min_count: int = 1) -> list[str]:
    """The distinct words of tokenized ``texts`` seen at least ``min_count`` times, most frequent first
    (ties in alphabetical order): the order in which the course's vocabularies number words."""
    counts = Counter(word for words in texts for word in words)
    return sorted((word for word, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))


@dataclass(frozen=True)
class TokenVocabulary:
    """Id 0 is padding, id 1 stands for every word outside the vocabulary, then words by frequency."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, texts: Sequence[list[str]], min_count: int = 2) -> TokenVocabulary:
        return cls((PAD, UNKNOWN, *words_by_frequency(texts, min_count)))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> torch.Tensor:
        """``(len(tokens),)`` int64 ids, unknown words mapped to 1."""
        index = {word: i for i, word in enumerate(self.words)}
        return torch.tensor([index.get(token, 1) for token in tokens], dtype=torch.long)


def pad_batch(sequences: Sequence[torch.Tensor], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-D id tensors of different lengths (each >= 1) into ``(B, T_max)``, padded on the right.

    Returns the padded ids and the true lengths, ``(B,)`` int64, as ``pack_padded_sequence`` takes them.
    """
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    if (lengths < 1).any():
        raise ValueError("every sequence needs at least one token")
    padded = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = sequence
    return padded, lengths


def collate_padded(examples: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``DataLoader`` collate function: (ids, label) pairs -> padded ids ``(B, T)``, lengths ``(B,)``, labels ``(B,)``."""
    ids, lengths = pad_batch([ids for ids, _ in examples])
    return ids, lengths, torch.tensor([int(label) for _, label in examples], dtype=torch.long)


@dataclass
class AddingHistory:
    """Test MSE measured every ``eval_every`` steps (``steps[i]`` steps done), with the seconds spent so far."""

    steps: list[int]
    test_mse: list[float]
    seconds: list[float]


def fit_adding(
    model: torch.nn.Module,
    *,
    length: int,
    steps: int,
    test_set: tuple[torch.Tensor, torch.Tensor],
    device: torch.device,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    max_norm: float | None = 1.0,
    eval_every: int = 100,
    seed: int = 0,
    desc: str = "adding problem",
    progress: bool = True,
) -> AddingHistory:
    """Train ``model`` (``(B, length, 2) -> (B,)``) on fresh adding-problem batches with Adam and MSE.

    Every batch is new (drawn from a generator seeded with ``seed``), so the test MSE on ``test_set``
    measures the task, not memory of a training set. Gradients are clipped to ``max_norm``.
    """
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    test_inputs, test_targets = (t.to(device) for t in test_set)
    history = AddingHistory([], [], [])
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=False)
    for step in bar:
        inputs, targets = (t.to(device) for t in adding_problem(batch_size, length, generator))
        loss = F.mse_loss(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                history.test_mse.append(float(F.mse_loss(model(test_inputs), test_targets)))
            model.train()
            history.steps.append(step)
            history.seconds.append(time.perf_counter() - start)
            bar.set_postfix(test_mse=f"{history.test_mse[-1]:.4f}", refresh=False)
    return history
