"""Topic 1: the course's Naive Bayes (the assignment's solution) against scikit-learn, side by side.

Runs the solution notebook's non-test code cells to get its functions, then times, on the same
rt-polarity count matrices: fitting (ours vs ``MultinomialNB.fit``) and predicting (ours vs
``MultinomialNB.predict``), plus tokenize + vocabulary + bag-of-words (ours vs ``CountVectorizer``).
Prints the median of several repeats and the ratio ours / sklearn; checks predictions agree.

    .venv/bin/python benchmarks/naive_bayes_vs_sklearn.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

SOLUTION = Path(__file__).resolve().parent.parent / "solutions/01_bow_naive_bayes/01_bow_naive_bayes.ipynb"


def solution_namespace(path: Path = SOLUTION) -> dict:
    """Execute every code cell of the solution notebook that is not a graded test; return its globals."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the notebook's own prints are not the benchmark's
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade", False):
                exec(compile(cell.source, f"{path.name}:{cell.metadata['nbgrader']['grade_id']}", "exec"), namespace)
    return namespace


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    ours = solution_namespace()
    train, test = ours["load_rt_polarity"]("train"), ours["load_rt_polarity"]("test")
    vectorizer = CountVectorizer(tokenizer=ours["tokenize"], lowercase=False, token_pattern=None)
    X_train, X_test = vectorizer.fit_transform(train.texts), vectorizer.transform(test.texts)
    reference = MultinomialNB(alpha=1.0).fit(X_train, train.labels)
    log_prior, log_likelihood = ours["fit_naive_bayes"](X_train, train.labels, alpha=1.0)

    def our_encoding() -> object:
        tokens = [ours["tokenize"](text) for text in train.texts]
        return ours["bag_of_words"](tokens, ours["build_vocab"](tokens))

    rows = [
        ("encode train split", our_encoding, lambda: vectorizer.fit_transform(train.texts)),
        ("fit (alpha=1)", lambda: ours["fit_naive_bayes"](X_train, train.labels, 1.0),
         lambda: MultinomialNB(alpha=1.0).fit(X_train, train.labels)),
        ("predict test split", lambda: ours["predict"](log_prior, log_likelihood, X_test),
         lambda: reference.predict(X_test)),
    ]
    agree = float((ours["predict"](log_prior, log_likelihood, X_test) == reference.predict(X_test)).mean())
    print(f"rt-polarity: {X_train.shape[0]} train x {X_train.shape[1]} words, {X_test.shape[0]} test; "
          f"median of {args.repeats} runs")
    print(f"{'step':<22}{'ours (ms)':>12}{'sklearn (ms)':>14}{'ours/sklearn':>14}")
    for name, our_work, reference_work in rows:
        our_time = median_seconds(our_work, args.repeats)
        reference_time = median_seconds(reference_work, args.repeats)
        print(f"{name:<22}{our_time * 1e3:>12.2f}{reference_time * 1e3:>14.2f}{our_time / reference_time:>14.2f}")
    accuracy = float((reference.predict(X_test) == test.labels).mean())
    print(f"predictions identical on {agree:.1%} of the test split; accuracy {accuracy:.4f} for both")
    assert agree == 1.0 and np.allclose(log_likelihood, reference.feature_log_prob_)


if __name__ == "__main__":
    main()
