"""Topic 2: the course's skip-gram with negative sampling (SGNS) against gensim's Word2Vec, side by side.

Trains ``nlpcourse.embedding_models.train_sgns`` (PyTorch, mini-batches of pairs, plain SGD) and
gensim's ``Word2Vec(sg=1)`` (``train_gensim``: compiled code, ``--workers`` threads) on the same token
stream with the same ``Word2VecSettings``, then scores both sets of vectors with the same code
(``nlpcourse.wordvectors``, which reproduces gensim's ``evaluate_word_analogies`` and
``evaluate_word_pairs``): Google analogy accuracy and coverage, WordSim353 and SimLex-999 Spearman.
Prints one table with the ratio ours / gensim for every row.

Speed:
  wall time     seconds of the whole training call, vocabulary and pair drawing included
                (gensim's constructor also builds its vocabulary and trains);
  words/second  corpus tokens x epochs / wall time (raw tokens, before min_count and subsampling);
  pairs/second  ours only: (center, context) pairs trained / seconds inside the training loop.

    .venv/bin/python benchmarks/word2vec_vs_gensim.py [--tokens N] [--epochs 5] [--device auto|cpu|cuda]
                                                      [--workers 2] [--threads N] [--seed 0]

The whole corpus (3.4 M tokens, 5 epochs) takes a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import gensim
import torch

from nlpcourse.corpus import load_corpus
from nlpcourse.device import pick
from nlpcourse.embedding_models import Word2VecSettings, train_gensim, train_sgns
from nlpcourse.wordvectors import WordVectors, evaluate_analogies, evaluate_similarity, load_word_pairs

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and the wall-clock seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def scores(vectors: WordVectors) -> dict[str, float]:
    """The quality rows of the table for one set of vectors."""
    analogies = evaluate_analogies(vectors)
    return {
        "analogy accuracy": analogies.accuracy,
        "analogy coverage": analogies.coverage,
        "WordSim353 Spearman": evaluate_similarity(vectors, load_word_pairs("wordsim353")).spearman,
        "SimLex-999 Spearman": evaluate_similarity(vectors, load_word_pairs("simlex999")).spearman,
    }


def ratio(ours: float | None, theirs: float | None) -> str:
    return "-" if ours is None or theirs is None or theirs == 0 else f"{ours / theirs:.3f}"


def cell(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=None, help="first N corpus tokens (default: all)")
    parser.add_argument("--epochs", type=int, default=Word2VecSettings.epochs)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where our SGNS trains")
    parser.add_argument("--workers", type=int, default=2, help="gensim's worker threads")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = pick(args.device)
    settings = replace(Word2VecSettings(), epochs=args.epochs)
    tokens = load_corpus(args.tokens)

    (our_vectors, history), our_seconds = timed(
        lambda: train_sgns(tokens, settings, device=device, seed=args.seed, progress=False))
    model, gensim_seconds = timed(lambda: train_gensim(tokens, settings, sg=1, workers=args.workers, seed=args.seed))
    gensim_vectors = WordVectors.from_gensim(model.wv)

    words = len(tokens) * settings.epochs
    rows: list[tuple[str, float | None, float | None, int]] = [  # (metric, ours, gensim, decimals)
        ("wall time (s)", our_seconds, gensim_seconds, 2),
        ("words/second", words / our_seconds, words / gensim_seconds, 0),
        ("pairs/second", history.examples_per_second, None, 0),
    ]
    ours, theirs = scores(our_vectors), scores(gensim_vectors)
    rows += [(name, ours[name], theirs[name], 4) for name in ours]

    print(f"corpus: {len(tokens):,} tokens, {len(our_vectors):,} words with min_count {settings.min_count} "
          f"(same vocabulary in both: {'yes' if our_vectors.words == gensim_vectors.words else 'NO'})")
    print(f"settings: dim {settings.dim}, window {settings.window}, {settings.negatives} negatives, "
          f"sample {settings.sample:g}, {settings.epochs} epochs, lr {settings.learning_rate}, "
          f"our batch {settings.batch_size} pairs")
    threads = torch.get_num_threads()
    print(f"ours: train_sgns on {device.type} ({threads} CPU thread{'s' if threads != 1 else ''}), "
          f"{history.examples:,} pairs trained; gensim {gensim.__version__}: Word2Vec(sg=1), {args.workers} workers")
    print(f"{'metric':<24}{'ours':>14}{'gensim':>14}{'ours/gensim':>14}")
    for name, our_value, gensim_value, decimals in rows:
        print(f"{name:<24}{cell(our_value, decimals):>14}{cell(gensim_value, decimals):>14}"
              f"{ratio(our_value, gensim_value):>14}")


if __name__ == "__main__":
    main()
