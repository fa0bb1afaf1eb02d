"""The data side of word2vec: vocabulary, subsampling and (center, context) pairs, checked against
brute force and against gensim's own vocabulary."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec

from nlpcourse import corpus
from nlpcourse.word2vec import SkipGramPairs, Vocabulary, keep_probabilities, window_pairs


def test_vocabulary_build_orders_by_count_and_drops_rare_words() -> None:
    tokens = "a b c b c d a e e c f".split()
    vocabulary = Vocabulary.build(tokens, min_count=2)
    # c: 3; then a, b, e: 2 each, the one first seen last coming first (gensim's order); d, f dropped
    assert vocabulary.words == ("c", "e", "b", "a")
    np.testing.assert_array_equal(vocabulary.counts, [3, 2, 2, 2])
    assert vocabulary.counts.dtype == np.int64
    assert len(vocabulary) == 4 and vocabulary.index == {"c": 0, "e": 1, "b": 2, "a": 3}
    assert len(Vocabulary.build(tokens, min_count=4)) == 0
    assert Vocabulary.build(tokens, min_count=1).words[-2:] == ("f", "d")


@pytest.mark.parametrize("min_count", [1, 5])
def test_vocabulary_matches_gensim(min_count: int) -> None:
    tokens = corpus.load_corpus(30_000)
    model = Word2Vec(vector_size=4, min_count=min_count, sample=1e-4, workers=1)
    model.build_vocab(corpus.chunked(tokens))
    vocabulary = Vocabulary.build(tokens, min_count)
    assert list(vocabulary.words) == model.wv.index_to_key
    np.testing.assert_array_equal(vocabulary.counts, model.wv.expandos["count"])
    # gensim stores each word's keep probability as a 32-bit fraction
    gensim_keep = model.wv.expandos["sample_int"] / (2**32 - 1)
    np.testing.assert_allclose(keep_probabilities(vocabulary.counts, 1e-4), gensim_keep, atol=1e-9)


def test_encode_drops_out_of_vocabulary_tokens() -> None:
    vocabulary = Vocabulary.build("x y y z z z".split(), min_count=2)
    ids = vocabulary.encode("z q y x z".split())
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [0, 1, 0])
    assert vocabulary.encode([]).shape == (0,)


def test_keep_probabilities_formula() -> None:
    counts = np.array([1000, 100, 10, 1])
    sample = 1e-2
    threshold = sample * counts.sum()  # 11.11
    expected = [min(1.0, (np.sqrt(n / threshold) + 1) * threshold / n) for n in counts]
    keep = keep_probabilities(counts, sample)
    np.testing.assert_allclose(keep, expected)
    assert keep[0] < keep[1] < 1.0 and keep[2] == keep[3] == 1.0
    for off in (0, -1.0):
        np.testing.assert_array_equal(keep_probabilities(counts, off), np.ones(4))


def test_window_pairs_with_window_one_are_the_neighbours() -> None:
    ids = np.array([10, 11, 12, 13])
    centers, contexts = window_pairs(ids, 1, np.random.default_rng(0))
    assert centers.shape == contexts.shape == (6,)
    assert sorted(zip(centers.tolist(), contexts.tolist())) == [
        (10, 11), (11, 10), (11, 12), (12, 11), (12, 13), (13, 12)]
    empty = window_pairs(np.array([], dtype=np.int64), 3, np.random.default_rng(0))
    assert empty[0].shape == empty[1].shape == (0,)
    single = window_pairs(np.array([7]), 3, np.random.default_rng(0))
    assert single[0].shape == (0,)


def test_window_pairs_take_a_symmetric_reduced_window_per_center() -> None:
    n, window = 300, 5
    ids = np.arange(n)  # id = position, so every pair tells its distance
    centers, contexts = window_pairs(ids, window, np.random.default_rng(1))
    distances = np.abs(contexts - centers)
    assert distances.min() >= 1 and distances.max() <= window
    offsets: dict[int, list[int]] = {}
    for center, context in zip(centers.tolist(), contexts.tolist()):
        offsets.setdefault(center, []).append(context - center)
    reaches = []
    for center in range(window, n - window):  # away from the ends every center sees both sides
        seen = sorted(offsets[center])
        reach = max(seen)
        assert seen == [*range(-reach, 0), *range(1, reach + 1)], center
        reaches.append(reach)
    assert set(reaches) == set(range(1, window + 1))
    # at the ends the window is cut by the edge
    assert min(offsets[0]) >= 1 and max(offsets[n - 1]) <= -1


def test_window_pair_distances_favour_near_words() -> None:
    window = 5
    centers, contexts = window_pairs(np.arange(100_000), window, np.random.default_rng(2))
    distances = np.abs(contexts - centers)
    share = np.bincount(distances, minlength=window + 1)[1:] / len(distances)
    # P(distance d is used) = P(b >= d) = (window - d + 1) / window, with b uniform on 1..window
    expected = np.arange(window, 0, -1) / np.arange(window, 0, -1).sum()
    np.testing.assert_allclose(share, expected, atol=0.005)
    assert np.all(np.diff(share) < 0)


def pairs_of(dataset: SkipGramPairs) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(torch.utils.data.DataLoader(dataset, batch_size=None))


@pytest.fixture(scope="module")
def head() -> tuple[np.ndarray, Vocabulary]:
    tokens = corpus.load_corpus(20_000)
    vocabulary = Vocabulary.build(tokens, 5)
    return vocabulary.encode(tokens), vocabulary


def test_skipgram_pairs_batches(head: tuple[np.ndarray, Vocabulary]) -> None:
    ids, vocabulary = head
    dataset = SkipGramPairs(ids, vocabulary, window=3, sample=1e-3, batch_size=500, seed=0)
    batches = pairs_of(dataset)
    assert len(batches) > 5
    for centers, contexts in batches[:-1]:
        assert centers.shape == contexts.shape == (500,)
        assert centers.dtype == contexts.dtype == torch.int64
    assert 0 < len(batches[-1][0]) <= 500
    every = torch.cat([c for c, _ in batches] + [o for _, o in batches])
    assert 0 <= every.min() and every.max() < len(vocabulary)


def test_skipgram_pairs_without_subsampling_cover_the_stream(head: tuple[np.ndarray, Vocabulary]) -> None:
    ids, vocabulary = head
    batches = pairs_of(SkipGramPairs(ids, vocabulary, window=1, sample=0, batch_size=512, seed=0))
    pairs = Counter(zip(torch.cat([c for c, _ in batches]).tolist(), torch.cat([o for _, o in batches]).tolist()))
    expected = Counter(zip(ids[1:].tolist(), ids[:-1].tolist())) + Counter(zip(ids[:-1].tolist(), ids[1:].tolist()))
    assert pairs == expected


def test_skipgram_pairs_subsample_frequent_words(head: tuple[np.ndarray, Vocabulary]) -> None:
    ids, vocabulary = head
    batches = pairs_of(SkipGramPairs(ids, vocabulary, window=2, sample=1e-3, batch_size=4096, seed=0))
    centers = torch.cat([c for c, _ in batches]).numpy()
    share_of_the = np.mean(centers == 0)  # id 0 is the most frequent word, "the"
    assert vocabulary.words[0] == "the"
    assert share_of_the < 0.5 * np.mean(ids == 0)


def test_skipgram_pairs_are_shuffled_and_deterministic(head: tuple[np.ndarray, Vocabulary]) -> None:
    ids, vocabulary = head
    first = pairs_of(SkipGramPairs(ids, vocabulary, batch_size=1000, seed=3))
    again = pairs_of(SkipGramPairs(ids, vocabulary, batch_size=1000, seed=3))
    other = pairs_of(SkipGramPairs(ids, vocabulary, batch_size=1000, seed=4))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0][0], other[0][0])
    # shuffled: not in stream order
    centers = torch.cat([c for c, _ in first]).numpy()
    assert not np.array_equal(centers[:50], ids[1:51]) and not np.all(np.diff(centers) >= 0)


def test_skipgram_pairs_draw_a_new_pass_each_epoch_and_know_its_length(head: tuple[np.ndarray, Vocabulary]) -> None:
    ids, vocabulary = head
    dataset = SkipGramPairs(ids, vocabulary, batch_size=256, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None)
    passes = []
    for _ in range(3):
        expected_batches = len(loader)  # asked before every pass, as a progress bar does
        batches = list(loader)
        assert len(batches) == expected_batches
        passes.append(torch.cat([c for c, _ in batches]))
    assert not torch.equal(passes[0][:100], passes[1][:100])
