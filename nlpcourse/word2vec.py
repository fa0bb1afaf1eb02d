"""The data side of word2vec: vocabulary, subsampling, noise distribution and (center, context) pairs.

These pieces follow Mikolov et al. (2013) and the reference C code, as gensim does, so that a model
trained on them can be compared with ``gensim.models.Word2Vec`` run with the same settings:

* words rarer than ``min_count`` are dropped from the stream before windows are taken;
* a word of count ``f`` in a stream of ``N`` tokens is kept with probability
  ``min(1, (sqrt(f / (s N)) + 1) (s N) / f)`` for the sample threshold ``s``;
* each center word draws a window size ``b`` uniformly from ``1..window`` (nearer words are used more);
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Vocabulary:
    """Words seen at least ``min_count`` times, most frequent first.

    ``counts`` has shape ``(V,)`` and holds each word's count in the training stream.
    """

    words: tuple[str, ...]
    counts: np.ndarray

    @classmethod
    def build(cls, tokens: Sequence[str], min_count: int = 5) -> "Vocabulary":
        """Count ``tokens``; among words of equal count the one that appears *later* comes first.

        That is gensim 4's order (``np.lexsort((-first_seen, -counts))``), so the same stream gives
        the same word ids here and in ``Word2Vec(...).wv.index_to_key``.
        """
        counted = Counter(tokens)  # keys in order of first appearance
        kept = [(word, n) for word, n in counted.items() if n >= min_count]
        order = sorted(range(len(kept)), key=lambda i: (-kept[i][1], -i))
        return cls(tuple(kept[i][0] for i in order), np.array([kept[i][1] for i in order], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Token ids of shape ``(n_kept,)``; out-of-vocabulary tokens are dropped, not mapped to UNK."""
        index = self.index
        return np.fromiter((index[t] for t in tokens if t in index), dtype=np.int64)


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each word under frequent-word subsampling, shape ``(V,)``.

    ``sample <= 0`` keeps everything.
    """
    if sample <= 0:
        return np.ones(len(counts))
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def window_pairs(ids: np.ndarray, window: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All (center, context) id pairs of one pass, with a reduced window drawn per center.

    Args:
        ids: token ids, shape ``(n,)``.
        window: the largest distance between center and context.
        rng: draws each center's window ``b`` uniformly from ``1..window``.

    Returns:
        ``centers`` and ``contexts``, each of shape ``(P,)``, grouped by distance (shuffle them).
    """
    reach = rng.integers(1, window + 1, size=len(ids))
    centers, contexts = [], []
    for distance in range(1, window + 1):
        left = np.nonzero(reach[distance:] >= distance)[0] + distance
        right = np.nonzero(reach[:-distance] >= distance)[0]
        centers += [ids[left], ids[right]]
        contexts += [ids[left - distance], ids[right + distance]]
    return np.concatenate(centers), np.concatenate(contexts)


class SkipGramPairs(torch.utils.data.IterableDataset):
    """Shuffled batches of skip-gram pairs, freshly subsampled and windowed on every pass.

    Iterating yields ``(centers, contexts)``, two int64 tensors of shape ``(B,)``; use it with
    ``DataLoader(dataset, batch_size=None)``. ``len`` is the number of batches in the coming pass (it
    varies slightly from pass to pass with the random windows): asking for it draws that pass early.
    """

    def __init__(
        self,
        ids: np.ndarray,
        vocabulary: Vocabulary,
        *,
        window: int = 5,
        sample: float = 1e-4,
        batch_size: int = 1024,
        seed: int = 0,
    ) -> None:
        self.ids = ids
        self.keep = keep_probabilities(vocabulary.counts, sample)
        self.window = window
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self._next = self._draw()

    def _draw(self) -> tuple[np.ndarray, np.ndarray]:
        kept = self.ids[self.rng.random(len(self.ids)) < self.keep[self.ids]]
        centers, contexts = window_pairs(kept, self.window, self.rng)
        order = self.rng.permutation(len(centers))
        return centers[order], contexts[order]

    def __len__(self) -> int:
        if self._next is None:  # the previous pass was used: draw the coming one now
            self._next = self._draw()
        return -(-len(self._next[0]) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        centers, contexts = self._next if self._next is not None else self._draw()
        self._next = None
        for start in range(0, len(centers), self.batch_size):
            stop = start + self.batch_size
            yield torch.from_numpy(centers[start:stop]), torch.from_numpy(contexts[start:stop])
