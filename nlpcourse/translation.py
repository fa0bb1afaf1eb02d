"""French -> English sentence pairs from Tatoeba, prepared for sequence-to-sequence models.

The preparation is the one of the well-known PyTorch translation tutorial: accents stripped, lower
case, ``.!?`` split off as words, every other non-letter a space; pairs kept when both sides have
fewer than 10 words and the English side starts with "i am", "he is", "you are", ... . The split into
training and test pairs is by distinct French sentence, so no source sentence is in both.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sacrebleu
import torch

from .data import verified_path
from .sequence_tasks import pad_batch, words_by_frequency

PAIRS_FILE = "translation/eng-fra.txt.gz"
MAX_WORDS = 10  # both sides shorter than this, as in the tutorial
ENGLISH_PREFIXES = ("i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ",
                    "we are", "we re ", "they are", "they re ")
PAD, BOS, EOS, UNKNOWN = "<pad>", "<bos>", "<eos>", "<unk>"
PAD_ID, BOS_ID, EOS_ID, UNKNOWN_ID = 0, 1, 2, 3


def normalize(text: str) -> str:
    """Lower case, accents stripped, ``.!?`` separated, every other non-letter run one space."""
    text = text.lower().strip()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = re.sub(r"([.!?])", r" \1", text)
    return re.sub(r"[^a-zA-Z.!?]+", " ", text).strip()


@dataclass(frozen=True)
class SentencePair:
    """One normalised pair: ``source`` (French) and ``target`` (English), words separated by spaces."""

    source: str
    target: str


def read_pair_lines() -> list[tuple[str, str]]:
    """Every line of the shipped file as raw (English, French) text: 135,842 pairs."""
    with gzip.open(verified_path(PAIRS_FILE), "rt", encoding="utf-8") as lines:
        return [tuple(line.rstrip("\n").split("\t")) for line in lines]


def is_short_simple_pair(pair: SentencePair, max_words: int = MAX_WORDS) -> bool:
    """The tutorial's filter: both sides under ``max_words`` words, English starting "i am", "he is", ..."""
    return (len(pair.source.split()) < max_words and len(pair.target.split()) < max_words
            and pair.target.startswith(ENGLISH_PREFIXES))


def load_pairs(max_words: int = MAX_WORDS) -> list[SentencePair]:
    """The normalised French -> English pairs that pass the filter, in file order (10,599 by default)."""
    pairs = []
    for english, french in read_pair_lines():
        target = normalize(english)
        if target.startswith(ENGLISH_PREFIXES):  # cheap test first: most lines stop here
            pair = SentencePair(normalize(french), target)
            if is_short_simple_pair(pair, max_words):
                pairs.append(pair)
    return pairs


def split_by_source(pairs: Sequence[SentencePair], test_fraction: float = 0.1,
                    seed: int = 0) -> tuple[list[SentencePair], list[SentencePair]]:
    """Training and test pairs such that no French sentence occurs in both.

    The distinct source sentences are shuffled with ``numpy.random.default_rng(seed)``; the first
    ``test_fraction`` of them, with all their translations, form the test set. Order within each
    part follows ``pairs``.
    """
    sources = sorted({pair.source for pair in pairs})
    order = np.random.default_rng(seed).permutation(len(sources))
    test_sources = {sources[i] for i in order[: round(test_fraction * len(sources))]}
    train = [pair for pair in pairs if pair.source not in test_sources]
    test = [pair for pair in pairs if pair.source in test_sources]
    return train, test


@dataclass(frozen=True)
class Vocabulary:
    """Ids 0-3 are padding, begin, end and unknown; then the words by falling frequency."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, sentences: Sequence[str], min_count: int = 1) -> Vocabulary:
        return cls((PAD, BOS, EOS, UNKNOWN, *words_by_frequency([s.split() for s in sentences], min_count)))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {word: i for i, word in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: str) -> torch.Tensor:
        """``(words + 1,)`` int64: the word ids, unknown words as 3, then the end id 2."""
        return torch.tensor([self._index.get(word, UNKNOWN_ID) for word in sentence.split()] + [EOS_ID],
                            dtype=torch.long)

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The words of ``ids`` up to the first end id; padding and begin ids are skipped."""
        words = []
        for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids):
            if i == EOS_ID:
                break
            if i not in (PAD_ID, BOS_ID):
                words.append(self.words[i])
        return " ".join(words)


@dataclass(frozen=True)
class TranslationData:
    """A split with its two vocabularies, built from the training pairs only."""

    train: list[SentencePair]
    test: list[SentencePair]
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary

    def encoded(self, pairs: Sequence[SentencePair]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(source ids, target ids) per pair, each ending with the end id."""
        return [(self.source_vocabulary.encode(p.source), self.target_vocabulary.encode(p.target)) for p in pairs]


def load_translation_data(max_words: int = MAX_WORDS, test_fraction: float = 0.1, seed: int = 0) -> TranslationData:
    """Filtered pairs, split by source sentence, with vocabularies of every training word."""
    train, test = split_by_source(load_pairs(max_words), test_fraction, seed)
    return TranslationData(train, test, Vocabulary.build([p.source for p in train]),
                           Vocabulary.build([p.target for p in train]))


def collate_pairs(examples: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """``DataLoader`` collate: (source ids, target ids) pairs -> a padded batch for teacher forcing.

    Returns ``source (B, S)``, ``source_lengths (B,)``, ``decoder_inputs (B, T)`` (the begin id, then
    the target without its end id) and ``decoder_targets (B, T)`` (the target with its end id), all
    padded with 0.
    """
    source, source_lengths = pad_batch([s for s, _ in examples])
    targets, _ = pad_batch([t for _, t in examples])
    inputs, _ = pad_batch([torch.cat([torch.tensor([BOS_ID]), t[:-1]]) for _, t in examples])
    return source, source_lengths, inputs, targets


def detokenize(sentence: str) -> str:
    """Normalised words back to text: ``"i m cold ."`` -> ``"i m cold."`` (punctuation joins its word)."""
    return re.sub(r" ([.!?])", r"\1", sentence)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of word sequences against one reference each, as sacrebleu computes it.

    Both sides are detokenised first, since sacrebleu tokenises text itself (its standard ``13a``
    tokeniser); BLEU must be computed on text, not on token ids or the model's own tokens.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    return sacrebleu.corpus_bleu([detokenize(h) for h in hypotheses],
                                 [[detokenize(r) for r in references]]).score
