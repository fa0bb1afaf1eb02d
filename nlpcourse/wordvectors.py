"""Word vectors and their standard evaluations: Google analogies, WordSim353 and SimLex-999.

The evaluations follow gensim's ``evaluate_word_analogies`` and ``evaluate_word_pairs`` (3CosAdd over
unit vectors, words lower-cased, questions or pairs with an out-of-vocabulary word skipped and counted
in the coverage), so a number printed here can be set next to gensim's for the same vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from nlpcourse.data import verified_path

ANALOGY_FILE = "analogy/questions-words.txt"
SIMILARITY_FILES = {"wordsim353": "analogy/wordsim353.tsv", "simlex999": "analogy/simlex999.txt"}


@dataclass(frozen=True)
class AnalogyQuestion:
    """``a`` is to ``b`` as ``c`` is to ``d`` (lower-cased), from section ``section``."""

    section: str
    a: str
    b: str
    c: str
    d: str


def load_analogy_questions() -> list[AnalogyQuestion]:
    """The 19,544 Google analogy questions (Mikolov et al. 2013) in file order, lower-cased."""
    questions = []
    section = ""
    for line in verified_path(ANALOGY_FILE).read_text(encoding="ascii").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif line.strip():
            a, b, c, d = line.lower().split()
            questions.append(AnalogyQuestion(section, a, b, c, d))
    return questions


def load_word_pairs(name: str) -> list[tuple[str, str, float]]:
    """Human-rated word pairs ``(word1, word2, score)`` of ``"wordsim353"`` or ``"simlex999"``."""
    if name not in SIMILARITY_FILES:
        raise ValueError(f"unknown similarity set {name!r}; choose from {', '.join(SIMILARITY_FILES)}")
    pairs = []
    for line in verified_path(SIMILARITY_FILES[name]).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            first, second, score = line.split("\t")
            pairs.append((first.lower(), second.lower(), float(score)))
    return pairs


class WordVectors:
    """A vocabulary and one vector per word.

    Args:
        words: the vocabulary, most frequent first (evaluations may restrict to a prefix of it).
        vectors: array of shape ``(len(words), d)``.
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"need one row per word: {len(words)} words, vectors {vectors.shape}")
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit = vectors / np.maximum(norms, 1e-12)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def nearest(self, query: np.ndarray, k: int = 10, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The ``k`` words whose unit vectors have the largest cosine with ``query`` (shape ``(d,)``)."""
        scores = self.unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        for word in exclude:
            if word in self.index:
                scores[self.index[word]] = -np.inf
        best = np.argsort(-scores)[:k]
        return [(self.words[i], float(scores[i])) for i in best]

    def neighbours(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """Nearest words to ``word`` by cosine, the word itself left out."""
        return self.nearest(self[word], k, exclude=[word])

    @classmethod
    def from_gensim(cls, keyed_vectors) -> "WordVectors":
        """Wrap gensim ``KeyedVectors`` (``model.wv``), keeping its frequency order."""
        return cls(keyed_vectors.index_to_key, keyed_vectors.vectors)


@dataclass
class AnalogyResult:
    """Accuracy over the questions whose four words are in the vocabulary, and their share."""

    correct: int
    answered: int
    total: int
    per_section: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def coverage(self) -> float:
        return self.answered / self.total if self.total else 0.0


def evaluate_analogies(
    vectors: WordVectors,
    questions: Sequence[AnalogyQuestion] | None = None,
    *,
    restrict_vocab: int = 300_000,
    batch_size: int = 1024,
) -> AnalogyResult:
    """3CosAdd: answer ``argmax_w cos(w, b - a + c)`` over unit vectors, ``a``, ``b``, ``c`` excluded.

    Only the ``restrict_vocab`` most frequent words take part, as in gensim. A question counts as
    answered when all four words are among them; accuracy is over answered questions.
    """
    questions = load_analogy_questions() if questions is None else questions
    limit = min(restrict_vocab, len(vectors))
    allowed = {word: i for word, i in vectors.index.items() if i < limit}
    unit = vectors.unit[:limit]
    usable = [q for q in questions if all(w in allowed for w in (q.a, q.b, q.c, q.d))]
    per_section: dict[str, list[int]] = {}
    for q in questions:
        per_section.setdefault(q.section, [0, 0])
    correct = 0
    for start in range(0, len(usable), batch_size):
        batch = usable[start:start + batch_size]
        ids = np.array([[allowed[q.a], allowed[q.b], allowed[q.c], allowed[q.d]] for q in batch])
        target = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
        target /= np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)
        scores = target @ unit.T
        rows = np.arange(len(batch))[:, None]
        scores[rows, ids[:, :3]] = -np.inf
        hits = scores.argmax(axis=1) == ids[:, 3]
        correct += int(hits.sum())
        for q, hit in zip(batch, hits):
            per_section[q.section][0] += int(hit)
            per_section[q.section][1] += 1
    return AnalogyResult(correct, len(usable), len(questions), {s: (c, n) for s, (c, n) in per_section.items()})


@dataclass
class SimilarityResult:
    """Spearman correlation between cosine similarities and human scores, over in-vocabulary pairs."""

    spearman: float
    used: int
    total: int

    @property
    def coverage(self) -> float:
        return self.used / self.total if self.total else 0.0


def evaluate_similarity(
    vectors: WordVectors, pairs: Sequence[tuple[str, str, float]], *, restrict_vocab: int = 300_000
) -> SimilarityResult:
    """Spearman's rho between ``cos(word1, word2)`` and the human score, pairs with an OOV word skipped."""
    limit = min(restrict_vocab, len(vectors))
    model_scores, human_scores = [], []
    for first, second, score in pairs:
        i, j = vectors.index.get(first, limit), vectors.index.get(second, limit)
        if i < limit and j < limit:
            model_scores.append(float(vectors.unit[i] @ vectors.unit[j]))
            human_scores.append(score)
    rho = float(spearmanr(model_scores, human_scores).statistic) if len(model_scores) > 1 else 0.0
    return SimilarityResult(rho, len(model_scores), len(pairs))
