"""Reference word-vector models used by the lectures and the benchmark: SGNS, GloVe and gensim's word2vec.

The assignment asks students to write their own versions of these; the lectures show this code next
to the equations and train it on the course corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
import torch
from torch import nn
from torch.nn import functional as F

from nlpcourse.training import History, fit
from nlpcourse.word2vec import SkipGramPairs, Vocabulary
from nlpcourse.wordvectors import WordVectors


@dataclass(frozen=True)
class Word2VecSettings:
    """The hyper-parameters shared by our SGNS and gensim's ``Word2Vec`` in every comparison."""

    dim: int = 100
    window: int = 5
    negatives: int = 5
    sample: float = 1e-4
    min_count: int = 5
    epochs: int = 5
    learning_rate: float = 0.025
    batch_size: int = 4096


class SkipGramNegativeSampling(nn.Module):
    """Skip-gram with negative sampling (Mikolov et al. 2013).

    For a center word ``c``, a true context word ``o`` and ``K`` noise words ``k_1..k_K``:
    ``loss = -log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c)``. ``v`` (center, "input") vectors
    start uniform in ``+-0.5/d`` and ``u`` (context, "output") vectors at zero, as in word2vec.
    """

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.center = nn.Embedding(vocab_size, dim, sparse=True)
        self.context = nn.Embedding(vocab_size, dim, sparse=True)
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Loss of each pair, shape ``(B,)``, for ``centers (B,)``, ``contexts (B,)``, ``negatives (B, K)``."""
        v = self.center(centers)  # (B, d)
        u_true = self.context(contexts)  # (B, d)
        u_noise = self.context(negatives)  # (B, K, d)
        true_score = (u_true * v).sum(dim=-1)  # (B,)
        noise_scores = torch.einsum("bkd,bd->bk", u_noise, v)  # (B, K)
        return -F.logsigmoid(true_score) - F.logsigmoid(-noise_scores).sum(dim=-1)

    def word_vectors(self, vocabulary: Vocabulary) -> WordVectors:
        return WordVectors(vocabulary.words, self.center.weight.detach().cpu().numpy())


def unigram_noise(counts: np.ndarray, power: float = 0.75) -> torch.Tensor:
    """``P_n(w) = count(w)^power / sum_u count(u)^power`` as a float tensor of shape ``(V,)``."""
    weights = counts.astype(np.float64) ** power
    return torch.from_numpy(weights / weights.sum()).float()


def fit_sgns(
    model: nn.Module,
    vocabulary: Vocabulary,
    ids: np.ndarray,
    noise: torch.Tensor | np.ndarray,
    settings: Word2VecSettings,
    *,
    device: torch.device,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train any skip-gram model ``model(centers, contexts, negatives) -> (B,) losses`` the way word2vec does.

    Pairs come from :class:`SkipGramPairs` over ``ids`` (shape ``(n,)``), negatives from ``noise``
    (shape ``(V,)``, sums to 1). Plain SGD on the *sum* of the pair losses of a batch (every pair
    gets the full step, as in the C code's per-pair updates), the learning rate decaying linearly
    to ``1e-4`` of its start.
    """
    torch.manual_seed(seed)
    pairs = SkipGramPairs(
        ids, vocabulary, window=settings.window, sample=settings.sample, batch_size=settings.batch_size, seed=seed
    )
    noise = torch.as_tensor(noise, dtype=torch.float32).to(device)
    model.to(device)
    total_steps = len(pairs) * settings.epochs
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(1e-4, 1 - step / total_steps))

    def pair_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        centers, contexts = batch
        negatives = torch.multinomial(noise, centers.numel() * settings.negatives, replacement=True)
        return model(centers, contexts, negatives.view(-1, settings.negatives))

    loader = torch.utils.data.DataLoader(pairs, batch_size=None)
    return fit(model, loader, pair_loss, optimizer, epochs=settings.epochs, device=device, reduction="sum",
               scheduler=schedule, desc="SGNS", progress=progress)


def train_sgns(
    tokens: list[str], settings: Word2VecSettings, *, device: torch.device, seed: int = 0, progress: bool = True
) -> tuple[WordVectors, History]:
    """Build the vocabulary and train :class:`SkipGramNegativeSampling` on a token stream with :func:`fit_sgns`."""
    torch.manual_seed(seed)
    vocabulary = Vocabulary.build(tokens, settings.min_count)
    model = SkipGramNegativeSampling(len(vocabulary), settings.dim)
    history = fit_sgns(model, vocabulary, vocabulary.encode(tokens), unigram_noise(vocabulary.counts), settings,
                       device=device, seed=seed, progress=progress)
    return model.word_vectors(vocabulary), history


def train_gensim(tokens: list[str], settings: Word2VecSettings, *, sg: int = 1, workers: int = 2, seed: int = 0):
    """gensim's ``Word2Vec`` (skip-gram for ``sg=1``, CBOW for ``sg=0``) on the same stream and settings.

    The stream is cut into 10,000-token "sentences", as gensim's ``Text8Corpus`` does.
    """
    from gensim.models import Word2Vec

    sentences = [tokens[start:start + 10_000] for start in range(0, len(tokens), 10_000)]
    return Word2Vec(
        sentences, vector_size=settings.dim, window=settings.window, negative=settings.negatives,
        sample=settings.sample, min_count=settings.min_count, epochs=settings.epochs, alpha=settings.learning_rate,
        sg=sg, workers=workers, seed=seed,
    )


def cooccurrence_counts(
    ids: np.ndarray, vocab_size: int, window: int, *, distance_weighting: bool = True
) -> scipy.sparse.csr_matrix:
    """Symmetric window co-occurrence counts ``X`` of shape ``(V, V)`` from one id stream ``(n,)``.

    ``X[i, j]`` adds ``1`` (or ``1/d`` with ``distance_weighting``, as GloVe does) for every time
    word ``j`` occurs ``d <= window`` positions before or after word ``i``.
    """
    total = scipy.sparse.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    for distance in range(1, window + 1):
        weight = 1.0 / distance if distance_weighting else 1.0
        left, right = ids[:-distance], ids[distance:]
        counts = scipy.sparse.coo_matrix(
            (np.full(len(left), weight), (left, right)), shape=(vocab_size, vocab_size)
        ).tocsr()
        total = total + counts + counts.T
    return total


def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """GloVe's weighting ``f(x) = (x / x_max)^alpha`` below ``x_max`` and ``1`` above it."""
    return torch.clamp(x / x_max, max=1.0) ** alpha


class GloVe(nn.Module):
    """GloVe (Pennington et al. 2014): ``J = 1/2 sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2``."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab_size, dim, sparse=True)
        self.context = nn.Embedding(vocab_size, dim, sparse=True)
        self.word_bias = nn.Embedding(vocab_size, 1, sparse=True)
        self.context_bias = nn.Embedding(vocab_size, 1, sparse=True)
        for table in (self.word, self.context):
            nn.init.uniform_(table.weight, -0.5 / dim, 0.5 / dim)
        for table in (self.word_bias, self.context_bias):
            nn.init.zeros_(table.weight)

    def forward(self, rows: torch.Tensor, cols: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Weighted squared error of each non-zero entry, shape ``(B,)``, for ``rows, cols, counts (B,)``."""
        score = (self.word(rows) * self.context(cols)).sum(dim=-1)
        score = score + self.word_bias(rows).squeeze(-1) + self.context_bias(cols).squeeze(-1)
        return 0.5 * glove_weight(counts) * (score - torch.log(counts)) ** 2

    def word_vectors(self, words: list[str] | tuple[str, ...]) -> WordVectors:
        """``w + w~``, the sum the GloVe paper reports as slightly better than either alone."""
        return WordVectors(words, (self.word.weight + self.context.weight).detach().cpu().numpy())


class ShuffledEntries:
    """Re-iterable shuffled mini-batches of the non-zero entries ``(rows, cols, counts)`` of a sparse matrix."""

    def __init__(self, matrix: scipy.sparse.spmatrix, batch_size: int, seed: int = 0) -> None:
        coo = matrix.tocoo()
        self.rows = torch.from_numpy(coo.row.astype(np.int64))
        self.cols = torch.from_numpy(coo.col.astype(np.int64))
        self.counts = torch.from_numpy(coo.data.astype(np.float32))
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.counts) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.counts), generator=self.generator)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start:start + self.batch_size]
            yield self.rows[chosen], self.cols[chosen], self.counts[chosen]


def fit_glove(
    model: nn.Module,
    counts: scipy.sparse.spmatrix,
    *,
    epochs: int = 15,
    learning_rate: float = 0.05,
    batch_size: int = 16384,
    device: torch.device,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Fit any GloVe model ``model(rows, cols, counts) -> (B,) losses`` to the non-zero entries of ``counts``.

    AdaGrad on the summed loss of shuffled mini-batches of entries, as in the GloVe paper.
    """
    torch.manual_seed(seed)
    torch.sparse.check_sparse_tensor_invariants.disable()  # AdaGrad's sparse updates: skip the per-step check
    model.to(device)  # AdaGrad allocates its running sums next to the parameters, so move them first
    optimizer = torch.optim.Adagrad(model.parameters(), lr=learning_rate)
    return fit(model, ShuffledEntries(counts, batch_size, seed), lambda m, batch: m(*batch), optimizer,
               epochs=epochs, device=device, reduction="sum", desc="GloVe", progress=progress)


def train_glove(
    tokens: list[str],
    *,
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    device: torch.device,
    seed: int = 0,
    **fit_options: Any,
) -> tuple[WordVectors, History]:
    """Count co-occurrences (``1/d`` weighted, symmetric) and fit :class:`GloVe` with :func:`fit_glove`.

    ``fit_options`` go to :func:`fit_glove` as they are: ``epochs``, ``learning_rate``, ``batch_size``,
    ``progress``.
    """
    torch.manual_seed(seed)
    vocabulary = Vocabulary.build(tokens, min_count)
    counts = cooccurrence_counts(vocabulary.encode(tokens), len(vocabulary), window)
    model = GloVe(len(vocabulary), dim)
    history = fit_glove(model, counts, device=device, seed=seed, **fit_options)
    return model.word_vectors(vocabulary.words), history
