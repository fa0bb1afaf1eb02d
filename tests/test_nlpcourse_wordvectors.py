"""Word vectors and their evaluations: the loaders, and agreement with gensim's own evaluations."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec

from nlpcourse import corpus, data
from nlpcourse.wordvectors import (
    ANALOGY_FILE, SIMILARITY_FILES, AnalogyQuestion, WordVectors, evaluate_analogies, evaluate_similarity,
    load_analogy_questions, load_word_pairs,
)

SECTION_SIZES = {  # the canonical counts of the Google analogy set
    "capital-common-countries": 506, "capital-world": 4524, "currency": 866, "city-in-state": 2467,
    "family": 506, "gram1-adjective-to-adverb": 992, "gram2-opposite": 812, "gram3-comparative": 1332,
    "gram4-superlative": 1122, "gram5-present-participle": 1056, "gram6-nationality-adjective": 1599,
    "gram7-past-tense": 1560, "gram8-plural": 1332, "gram9-plural-verbs": 870,
}


def analogy_path() -> str:
    return str(data.verified_path(ANALOGY_FILE))


def pairs_path(name: str) -> str:
    return str(data.verified_path(SIMILARITY_FILES[name]))


def gensim_section_counts(sections: list[dict]) -> dict[str, tuple[int, int]]:
    """gensim's per-section ``(correct, answered)``, its "Total accuracy" entry left out."""
    return {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
            for s in sections if s["section"] != "Total accuracy"}


def keyed_vectors(vectors: WordVectors) -> KeyedVectors:
    keyed = KeyedVectors(vectors.vectors.shape[1])
    keyed.add_vectors(vectors.words, vectors.vectors)
    return keyed


@pytest.fixture(scope="module")
def gensim_model() -> Word2Vec:
    """A small CBOW model on the corpus head: a few real analogies right, most wrong (about 1 s)."""
    tokens = corpus.load_corpus(300_000)
    return Word2Vec(corpus.chunked(tokens), vector_size=50, window=5, min_count=5, sample=1e-3,
                    epochs=5, sg=0, workers=1, seed=0)


@pytest.fixture(scope="module")
def structured_vectors() -> WordVectors:
    """Random vectors for every word of the analogy set, with the capital -> country offset built in
    (plus noise, so that some questions are answered wrongly), ordered by a random "frequency"."""
    rng = np.random.default_rng(0)
    questions = load_analogy_questions()
    vocabulary = sorted({w for q in questions for w in (q.a, q.b, q.c, q.d)})
    rng.shuffle(vocabulary)
    vectors = {word: rng.normal(size=30) for word in vocabulary}
    offset = 3 * rng.normal(size=30)
    for q in questions:
        if q.section == "capital-common-countries":
            for capital, country in ((q.a, q.b), (q.c, q.d)):
                vectors[country] = vectors[capital] + offset + 1.5 * rng.normal(size=30)
    return WordVectors(vocabulary, np.stack([vectors[word] for word in vocabulary]))


def test_analogy_questions() -> None:
    questions = load_analogy_questions()
    assert len(questions) == 19_544
    assert Counter(q.section for q in questions) == SECTION_SIZES
    assert questions[0] == AnalogyQuestion("capital-common-countries", "athens", "greece", "baghdad", "iraq")
    assert all(w == w.lower() for q in questions for w in (q.a, q.b, q.c, q.d))


@pytest.mark.parametrize(("name", "size", "first"), [
    ("wordsim353", 353, ("love", "sex", 6.77)),
    ("simlex999", 999, ("old", "new", 1.58)),
])
def test_word_pairs(name: str, size: int, first: tuple[str, str, float]) -> None:
    pairs = load_word_pairs(name)
    assert len(pairs) == size and pairs[0] == first
    assert all(a == a.lower() and b == b.lower() and 0 <= score <= 10 for a, b, score in pairs)


def test_unknown_word_pairs_name() -> None:
    with pytest.raises(ValueError, match="unknown similarity set 'men'"):
        load_word_pairs("men")


def test_word_vectors_shape_errors() -> None:
    with pytest.raises(ValueError, match="one row per word"):
        WordVectors(["a", "b"], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="one row per word"):
        WordVectors(["a", "b"], np.zeros(2))


def test_word_vectors_lookup_and_neighbours() -> None:
    vectors = WordVectors(["a", "b", "c", "d"], [[1, 0], [0.9, 0.1], [0, 1], [-1, 0]])
    assert len(vectors) == 4 and "c" in vectors and "e" not in vectors
    np.testing.assert_array_equal(vectors["c"], [0, 1])
    assert vectors.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors.unit, axis=1), 1, rtol=1e-6)
    neighbours = vectors.neighbours("a", k=3)
    assert [word for word, _ in neighbours] == ["b", "c", "d"]  # "a" itself is left out
    assert neighbours[0][1] == pytest.approx(0.9 / np.hypot(0.9, 0.1), rel=1e-6)
    assert neighbours[2][1] == pytest.approx(-1.0)
    assert [word for word, _ in vectors.nearest(np.array([1.0, 0.0]), k=2)] == ["a", "b"]
    assert [word for word, _ in vectors.nearest(np.array([1.0, 0.0]), k=2, exclude=["b", "zz"])] == ["a", "c"]


def test_word_vectors_from_gensim_keep_order(gensim_model: Word2Vec) -> None:
    vectors = WordVectors.from_gensim(gensim_model.wv)
    assert vectors.words == gensim_model.wv.index_to_key
    np.testing.assert_array_equal(vectors["the"], gensim_model.wv["the"])


def test_analogy_on_handmade_vectors() -> None:
    # king - man + woman = queen exactly; "king" itself is closer to the target but is excluded.
    vectors = WordVectors(
        ["man", "woman", "king", "queen", "apple"],
        [[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 3, 0], [0, 1, 3, 0], [0, 0, 0, 1]],
    )
    questions = [
        AnalogyQuestion("family", "man", "king", "woman", "queen"),
        AnalogyQuestion("family", "man", "woman", "king", "queen"),
        AnalogyQuestion("family", "man", "woman", "king", "apple"),  # answered, wrong
        AnalogyQuestion("fruit", "man", "pear", "king", "queen"),  # "pear" is unknown: not answered
    ]
    result = evaluate_analogies(vectors, questions)
    assert (result.correct, result.answered, result.total) == (2, 3, 4)
    assert result.accuracy == pytest.approx(2 / 3) and result.coverage == pytest.approx(3 / 4)
    assert result.per_section == {"family": (2, 3), "fruit": (0, 0)}
    # restricted to the 3 most frequent words, "queen" is out of the vocabulary
    assert evaluate_analogies(vectors, questions, restrict_vocab=3).answered == 0
    assert evaluate_analogies(vectors, [], restrict_vocab=3).accuracy == 0.0


def test_analogy_batches_do_not_change_the_result(structured_vectors: WordVectors) -> None:
    whole = evaluate_analogies(structured_vectors)
    small = evaluate_analogies(structured_vectors, batch_size=7)
    assert (whole.correct, whole.answered, whole.per_section) == (small.correct, small.answered, small.per_section)


def test_analogies_match_gensim_on_structured_vectors(structured_vectors: WordVectors) -> None:
    ours = evaluate_analogies(structured_vectors)
    score, sections = keyed_vectors(structured_vectors).evaluate_word_analogies(analogy_path())
    assert ours.answered == ours.total == 19_544
    correct, answered = ours.per_section["capital-common-countries"]
    assert 0.3 * answered < correct < answered  # the built-in offset is found, not always
    assert ours.accuracy == pytest.approx(score, abs=1e-12)
    assert ours.per_section == gensim_section_counts(sections)


@pytest.mark.parametrize("restrict_vocab", [300_000, 1000])
def test_analogies_match_gensim_on_a_trained_model(gensim_model: Word2Vec, restrict_vocab: int) -> None:
    ours = evaluate_analogies(WordVectors.from_gensim(gensim_model.wv), restrict_vocab=restrict_vocab)
    score, sections = gensim_model.wv.evaluate_word_analogies(analogy_path(), restrict_vocab=restrict_vocab)
    assert ours.answered > 0
    assert ours.accuracy == pytest.approx(score, abs=1e-12)
    assert ours.per_section == gensim_section_counts(sections)
    if restrict_vocab == 300_000:
        assert ours.correct > 0


@pytest.mark.parametrize("name", ["wordsim353", "simlex999"])
@pytest.mark.parametrize("restrict_vocab", [300_000, 2000])
def test_similarity_matches_gensim(gensim_model: Word2Vec, name: str, restrict_vocab: int) -> None:
    ours = evaluate_similarity(WordVectors.from_gensim(gensim_model.wv), load_word_pairs(name),
                               restrict_vocab=restrict_vocab)
    _, spearman, oov_percent = gensim_model.wv.evaluate_word_pairs(pairs_path(name), restrict_vocab=restrict_vocab)
    assert 10 < ours.used < ours.total
    assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-9)
    assert 100 * (1 - ours.coverage) == pytest.approx(oov_percent)


def test_similarity_on_handmade_vectors() -> None:
    angles = {"a": 0.0, "b": 0.3, "c": 1.0, "d": 2.0}
    vectors = WordVectors(list(angles), [[np.cos(t), np.sin(t)] for t in angles.values()])
    agreeing = [("a", "b", 9.0), ("a", "c", 5.0), ("a", "d", 1.0), ("b", "d", 2.0), ("a", "zz", 3.0)]
    result = evaluate_similarity(vectors, agreeing)
    assert (result.spearman, result.used, result.total) == (pytest.approx(1.0), 4, 5)
    assert result.coverage == pytest.approx(0.8)
    disagreeing = [(a, b, -score) for a, b, score in agreeing]
    assert evaluate_similarity(vectors, disagreeing).spearman == pytest.approx(-1.0)
    assert evaluate_similarity(vectors, agreeing, restrict_vocab=3).used == 2  # "d" is out
    assert evaluate_similarity(vectors, [("a", "b", 1.0)]).spearman == 0.0  # one pair: no correlation


def test_gensim_reads_the_same_sections() -> None:
    keyed = keyed_vectors(WordVectors(["athens", "greece"], np.eye(2)))
    _, sections = keyed.evaluate_word_analogies(analogy_path())
    assert [s["section"] for s in sections] == [*SECTION_SIZES, "Total accuracy"]
