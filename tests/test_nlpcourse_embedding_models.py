"""The reference SGNS and GloVe models: losses against their formulas, gradients against numerical
ones, co-occurrence counts against brute force, and tiny training runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec

from nlpcourse import corpus
from nlpcourse.embedding_models import (
    GloVe, ShuffledEntries, SkipGramNegativeSampling, Word2VecSettings, cooccurrence_counts, glove_weight,
    train_gensim, train_glove, train_sgns, unigram_noise,
)
from nlpcourse.gradcheck import numerical_gradient, relative_error
from nlpcourse.word2vec import Vocabulary

CPU = torch.device("cpu")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine spinning threads slow them 10-40x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sgns_loss(center: np.ndarray, context: np.ndarray, centers, contexts, negatives) -> np.ndarray:
    """``-log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c)`` per pair, in float64 numpy."""
    v = center[centers]  # (B, d)
    true_score = np.sum(context[contexts] * v, axis=1)  # (B,)
    noise_scores = np.einsum("bkd,bd->bk", context[negatives], v)  # (B, K)
    return np.logaddexp(0, -true_score) + np.logaddexp(0, noise_scores).sum(axis=1)  # -log sigma(x) = log(1 + e^-x)


def random_sgns(vocab_size: int, dim: int, seed: int = 0) -> SkipGramNegativeSampling:
    torch.manual_seed(seed)
    model = SkipGramNegativeSampling(vocab_size, dim).double()
    with torch.no_grad():
        model.center.weight.normal_()
        model.context.weight.normal_()
    return model


def test_sgns_initialisation() -> None:
    model = SkipGramNegativeSampling(50, 8)
    assert model.center.weight.abs().max() <= 0.5 / 8 and model.center.weight.std() > 0
    assert torch.count_nonzero(model.context.weight) == 0
    # with zero context vectors every score is 0: the loss of each pair is (1 + K) log 2
    losses = model(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6, 7], [8, 9, 10]]))
    torch.testing.assert_close(losses, torch.full((2,), 4 * math.log(2)))


def test_sgns_forward_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    vocab_size, dim, batch, negatives = 12, 5, 7, 4
    model = random_sgns(vocab_size, dim)
    centers, contexts = rng.integers(0, vocab_size, batch), rng.integers(0, vocab_size, batch)
    noise = rng.integers(0, vocab_size, (batch, negatives))
    losses = model(torch.from_numpy(centers), torch.from_numpy(contexts), torch.from_numpy(noise))
    assert losses.shape == (batch,) and losses.dtype == torch.float64
    expected = sgns_loss(model.center.weight.detach().numpy(), model.context.weight.detach().numpy(),
                         centers, contexts, noise)
    np.testing.assert_allclose(losses.detach().numpy(), expected, rtol=1e-12)


def test_sgns_gradient_check() -> None:
    rng = np.random.default_rng(1)
    vocab_size, dim, batch, negatives = 6, 3, 5, 2
    model = random_sgns(vocab_size, dim, seed=1)
    centers, contexts = rng.integers(0, vocab_size, batch), rng.integers(0, vocab_size, batch)
    noise = rng.integers(0, vocab_size, (batch, negatives))
    model(torch.from_numpy(centers), torch.from_numpy(contexts), torch.from_numpy(noise)).sum().backward()
    center = model.center.weight.detach().numpy().copy()
    context = model.context.weight.detach().numpy().copy()
    assert model.center.weight.grad.is_sparse  # nn.Embedding(sparse=True): only the rows used
    numeric_center = numerical_gradient(lambda c: sgns_loss(c, context, centers, contexts, noise).sum(), center)
    numeric_context = numerical_gradient(lambda u: sgns_loss(center, u, centers, contexts, noise).sum(), context)
    assert relative_error(model.center.weight.grad.to_dense().numpy(), numeric_center) < 1e-6
    assert relative_error(model.context.weight.grad.to_dense().numpy(), numeric_context) < 1e-6


def test_sgns_word_vectors_are_the_center_vectors() -> None:
    vocabulary = Vocabulary(("a", "b", "c"), np.array([3, 2, 1]))
    model = SkipGramNegativeSampling(3, 4)
    vectors = model.word_vectors(vocabulary)
    assert vectors.words == ["a", "b", "c"]
    np.testing.assert_array_equal(vectors["b"], model.center.weight[1].detach().numpy())


def test_unigram_noise() -> None:
    counts = np.array([100, 10, 1, 1])
    noise = unigram_noise(counts)
    assert noise.shape == (4,) and noise.dtype == torch.float32
    assert float(noise.sum()) == pytest.approx(1.0, abs=1e-6)
    powered = counts ** 0.75
    np.testing.assert_allclose(noise.numpy(), powered / powered.sum(), rtol=1e-6)
    np.testing.assert_allclose(unigram_noise(counts, power=1.0).numpy(), counts / counts.sum(), rtol=1e-6)
    assert noise[0] < 100 / 112  # flattened: frequent words drawn less often than their share


def brute_force_cooccurrence(ids: list[int], vocab_size: int, window: int, weighted: bool) -> np.ndarray:
    counts = np.zeros((vocab_size, vocab_size))
    for i, word in enumerate(ids):
        for j, other in enumerate(ids):
            distance = abs(i - j)
            if 1 <= distance <= window:
                counts[word, other] += 1 / distance if weighted else 1
    return counts


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("window", [1, 3])
def test_cooccurrence_counts_match_brute_force(weighted: bool, window: int) -> None:
    ids = np.random.default_rng(window).integers(0, 7, size=40)
    counts = cooccurrence_counts(ids, 7, window, distance_weighting=weighted)
    assert counts.shape == (7, 7) and counts.format == "csr"
    dense = counts.toarray()
    np.testing.assert_allclose(dense, brute_force_cooccurrence(ids.tolist(), 7, window, weighted))
    np.testing.assert_allclose(dense, dense.T)
    assert cooccurrence_counts(ids[:2], 7, 5).nnz == (1 if ids[0] == ids[1] else 2)


def test_cooccurrence_reproduces_the_lecture_table() -> None:
    # "I like deep learning. I like NLP. I enjoy flying." with window 1, counted within each sentence
    sentences = ["I like deep learning .", "I like NLP .", "I enjoy flying ."]
    words = ["I", "like", "enjoy", "deep", "learning", "NLP", "flying", "."]
    index = {word: i for i, word in enumerate(words)}
    table = sum(cooccurrence_counts(np.array([index[w] for w in s.split()]), len(words), 1,
                                    distance_weighting=False) for s in sentences).toarray()
    np.testing.assert_array_equal(table, [
        [0, 2, 1, 0, 0, 0, 0, 0],
        [2, 0, 0, 1, 0, 1, 0, 0],
        [1, 0, 0, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 1],
        [0, 1, 0, 0, 0, 0, 0, 1],
        [0, 0, 1, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 1, 1, 0],
    ])


def test_glove_weight() -> None:
    x = torch.tensor([0.0, 1.0, 50.0, 100.0, 250.0])
    expected = torch.tensor([0.0, 0.01 ** 0.75, 0.5 ** 0.75, 1.0, 1.0])
    torch.testing.assert_close(glove_weight(x), expected)
    torch.testing.assert_close(glove_weight(torch.tensor([5.0]), x_max=10, alpha=1.0), torch.tensor([0.5]))


def test_glove_forward_matches_the_formula() -> None:
    torch.manual_seed(0)
    model = GloVe(9, 4).double()
    with torch.no_grad():
        for table in (model.word, model.context, model.word_bias, model.context_bias):
            table.weight.normal_()
    rows, cols = torch.tensor([0, 3, 8, 3]), torch.tensor([1, 3, 2, 7])
    counts = torch.tensor([1.0, 0.5, 150.0, 20.0], dtype=torch.float64)
    w, w_tilde = model.word.weight.detach(), model.context.weight.detach()
    b, b_tilde = model.word_bias.weight.detach()[:, 0], model.context_bias.weight.detach()[:, 0]
    error = (w[rows] * w_tilde[cols]).sum(1) + b[rows] + b_tilde[cols] - torch.log(counts)
    weight = torch.where(counts < 100, (counts / 100) ** 0.75, torch.ones_like(counts))
    torch.testing.assert_close(model(rows, cols, counts), 0.5 * weight * error ** 2)
    vectors = model.word_vectors([str(i) for i in range(9)])
    np.testing.assert_allclose(vectors["3"], (w[3] + w_tilde[3]).numpy(), rtol=1e-6)


def test_shuffled_entries_cover_every_nonzero_once() -> None:
    matrix = cooccurrence_counts(np.random.default_rng(0).integers(0, 20, 300), 20, 2)
    entries = ShuffledEntries(matrix, batch_size=64, seed=0)
    assert len(entries) == math.ceil(matrix.nnz / 64)
    passes = []
    for _ in range(2):
        batches = list(entries)
        assert len(batches) == len(entries)
        rows, cols, counts = (torch.cat(parts) for parts in zip(*batches))
        rebuilt = np.zeros((20, 20))
        rebuilt[rows.numpy(), cols.numpy()] = counts.numpy()
        np.testing.assert_allclose(rebuilt, matrix.toarray(), rtol=1e-6)
        assert len(rows) == matrix.nnz
        passes.append(rows)
    assert not torch.equal(passes[0], passes[1])  # a fresh order every pass


@pytest.fixture(scope="module")
def tokens() -> list[str]:
    return corpus.load_corpus(10_000)


TINY = Word2VecSettings(dim=16, window=3, negatives=5, sample=1e-3, min_count=3, epochs=3, batch_size=512)


def test_train_sgns_lowers_the_loss(tokens: list[str]) -> None:
    vectors, history = train_sgns(tokens, TINY, device=CPU, seed=0, progress=False)
    vocabulary = Vocabulary.build(tokens, TINY.min_count)
    assert vectors.words == list(vocabulary.words) and vectors.vectors.shape == (len(vocabulary), 16)
    assert len(history.epoch_losses) == 3 and history.examples > 3 * len(tokens)
    # from (1 + K) log 2 at the start, the mean pair loss goes down epoch after epoch
    assert history.epoch_losses[0] < 6 * math.log(2)
    assert history.epoch_losses[2] < history.epoch_losses[1] < history.epoch_losses[0]
    again, _ = train_sgns(tokens, TINY, device=CPU, seed=0, progress=False)
    np.testing.assert_array_equal(again.vectors, vectors.vectors)


def test_train_sgns_progress_prints_each_epoch(tokens: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    settings = Word2VecSettings(dim=8, min_count=3, epochs=2, batch_size=4096)
    train_sgns(tokens[:5000], settings, device=CPU, progress=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("SGNS: epoch")]
    assert [line.split(",")[0] for line in lines] == ["SGNS: epoch 1/2", "SGNS: epoch 2/2"]


def test_train_glove_lowers_the_loss(tokens: list[str]) -> None:
    vectors, history = train_glove(tokens, dim=16, window=3, min_count=3, epochs=4, batch_size=2048,
                                   device=CPU, progress=False)
    assert vectors.vectors.shape == (len(Vocabulary.build(tokens, 3)), 16)
    assert all(later < earlier for earlier, later in zip(history.epoch_losses, history.epoch_losses[1:]))


def test_train_gensim_uses_the_shared_settings(tokens: list[str]) -> None:
    model = train_gensim(tokens, TINY, workers=1)
    assert isinstance(model, Word2Vec)
    assert (model.sg, model.vector_size, model.window, model.negative, model.epochs) == (1, 16, 3, 5, 3)
    assert (model.sample, model.min_count, model.alpha) == (1e-3, 3, 0.025)
    assert model.wv.index_to_key == list(Vocabulary.build(tokens, TINY.min_count).words)
    assert model.corpus_total_words == len(tokens)
    assert train_gensim(tokens[:3000], TINY, sg=0, workers=1).sg == 0
