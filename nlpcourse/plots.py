"""Plots shared by the lecture notebooks.

Every function draws on a matplotlib ``Axes`` and returns it: pass ``ax`` to draw into a figure you
laid out yourself, or leave it out and a new figure of a sensible size is made. Nothing here calls
``plt.show()``; notebooks display figures on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch
from numpy.typing import ArrayLike
from sklearn.metrics import confusion_matrix

__all__ = [
    "plot_confusion_matrix", "plot_grouped_bars", "plot_rank_frequency", "plot_sweep", "plot_top_features",
    "plot_word_map",
]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def plot_confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Sequence[str],
    ax: Axes | None = None,
    *,
    title: str = "Confusion matrix",
    cmap: str = "Blues",
) -> Axes:
    """Draw the confusion matrix of integer predictions, one cell per (true, predicted) pair.

    Args:
        y_true: true class ids, shape ``(n,)``, each in ``range(len(labels))``.
        y_pred: predicted class ids, shape ``(n,)``, same range.
        labels: display name of each class id, in id order (e.g. ``("negative", "positive")``).
        ax: where to draw; a new figure when ``None``.
        title: the Axes title.
        cmap: colour map; cells are coloured by their share of the true class (row), so a
            perfect classifier has a dark diagonal whatever the class sizes.

    Rows are true classes and columns predicted classes, as in ``sklearn.metrics.confusion_matrix``;
    each cell is labelled with its count.
    """
    n_classes = len(labels)
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))  # (n_classes, n_classes)
    row_totals = counts.sum(axis=1, keepdims=True)
    row_share = counts / np.maximum(row_totals, 1)
    ax = _axes(ax, (1.2 * n_classes + 2.0, 1.2 * n_classes + 1.5))
    ax.imshow(row_share, cmap=cmap, vmin=0.0, vmax=1.0)
    for i in range(n_classes):
        for j in range(n_classes):
            ax.text(j, i, f"{counts[i, j]:d}", ha="center", va="center",
                    color="white" if row_share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n_classes), labels)
    ax.set_yticks(range(n_classes), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax


def plot_top_features(
    names: Sequence[str],
    scores: ArrayLike,
    k: int = 10,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    xlabel: str = "score",
    color: str | None = None,
) -> Axes:
    """Horizontal bars for the ``k`` features with the largest scores, the largest on top.

    Args:
        names: feature names, length ``n_features`` (e.g. ``CountVectorizer.get_feature_names_out()``).
        scores: one score per feature, shape ``(n_features,)``. To show the most negative
            features instead, pass ``-scores`` (and say so in ``xlabel``).
        k: how many bars; all features when ``k`` exceeds their number.
        ax, title, xlabel, color: where and how to draw.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(names) != scores.shape[0]:
        raise ValueError(f"need one score per name: {len(names)} names, scores of shape {scores.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    top = np.argsort(-scores, kind="stable")[:k]  # indices, largest score first
    ax = _axes(ax, (5.0, 0.3 * len(top) + 1.0))
    # barh draws bottom-up, so reverse to put the largest bar at the top.
    ax.barh(np.arange(len(top)), scores[top[::-1]], color=color)
    ax.set_yticks(np.arange(len(top)), [str(names[i]) for i in top[::-1]])
    ax.set_xlabel(xlabel)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_rank_frequency(
    counts: ArrayLike,
    ax: Axes | None = None,
    *,
    label: str = "corpus",
    reference: bool = True,
) -> Axes:
    """Zipf plot: frequency of each word against its frequency rank, both axes logarithmic.

    Args:
        counts: how often each vocabulary word occurs, shape ``(vocabulary_size,)``, any order;
            zero counts are dropped.
        ax: where to draw; a new figure when ``None``.
        label: legend entry of the corpus curve.
        reference: also draw Zipf's law ``f(r) = f(1) / r`` as a dashed line (slope -1).

    The corpus curve is the first line on the Axes; its x data are the ranks ``1..V`` and its y
    data the counts sorted from largest to smallest.
    """
    counts = np.asarray(counts).ravel()
    frequencies = np.sort(counts[counts > 0])[::-1].astype(float)  # (V,) largest first
    ranks = np.arange(1, len(frequencies) + 1)
    ax = _axes(ax, (5.5, 4.0))
    ax.loglog(ranks, frequencies, label=label)
    if reference and len(frequencies):
        ax.loglog(ranks, frequencies[0] / ranks, "--", color="gray", label=r"Zipf: $f(1)/r$")
    ax.set_xlabel("rank $r$ (1 = most frequent word)")
    ax.set_ylabel("frequency $f(r)$")
    ax.legend()
    return ax


def plot_sweep(
    values: ArrayLike,
    curves: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    *,
    xlabel: str,
    ylabel: str,
    log_x: bool = True,
    mark_best: str | None = "max",
    title: str | None = None,
) -> Axes:
    """Line plot of one or more metrics against a hyper-parameter (e.g. accuracy against alpha).

    Args:
        values: the hyper-parameter values, shape ``(n,)``.
        curves: ``{legend label: metric values of shape (n,)}``, one line each, in this order.
        ax: where to draw; a new figure when ``None``.
        xlabel, ylabel, title: axis labels and title.
        log_x: logarithmic x axis (for values spread over orders of magnitude).
        mark_best: ``"max"`` or ``"min"`` circles each curve's best point; ``None`` marks nothing.
    """
    if mark_best not in ("max", "min", None):
        raise ValueError(f"mark_best must be 'max', 'min' or None, not {mark_best!r}")
    values = np.asarray(values, dtype=float)
    ax = _axes(ax, (5.5, 3.5))
    for label, metric in curves.items():
        metric = np.asarray(metric, dtype=float)
        if metric.shape != values.shape:
            raise ValueError(f"curve {label!r} has shape {metric.shape}, values have {values.shape}")
        (line,) = ax.plot(values, metric, marker=".", label=label)
        if mark_best is not None:
            best = int(np.argmax(metric) if mark_best == "max" else np.argmin(metric))
            ax.plot(values[best], metric[best], "o", markersize=10, markerfacecolor="none",
                    color=line.get_color())
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()  # the best-point circles have no label, so they stay out of the legend
    return ax


def plot_word_map(
    vectors: object,
    words: Sequence[str],
    ax: Axes | None = None,
    *,
    pairs: Sequence[tuple[str, str]] = (),
    normalise: bool = True,
    title: str | None = None,
) -> Axes:
    """Words as points in the plane of the first two principal components of their vectors.

    Args:
        vectors: anything that maps a word to its vector of shape ``(d,)`` with ``vectors[word]``
            (``nlpcourse.wordvectors.WordVectors``, gensim ``KeyedVectors``, a dict).
        words: the words to place, at least two; only these words enter the PCA.
        ax: where to draw; a new figure when ``None``.
        pairs: ``(from_word, to_word)`` pairs drawn as arrows (e.g. ``("man", "woman")``); both
            words must be in ``words``.
        normalise: scale every vector to unit length first, so the map shows directions (what the
            cosine similarity sees) rather than lengths.
        title: the Axes title.

    PCA by SVD: with the rows of ``X`` (shape ``(n, d)``) centred, ``X - mean = U S V^T`` and the
    coordinates are ``(X - mean) @ V[:, :2]``, shape ``(n, 2)``. Each component's sign is fixed so
    that its largest coordinate (in absolute value) is positive. The axis labels give each
    component's share of the variance, ``S_k^2 / sum_j S_j^2``, of the selected words.
    """
    if len(words) < 2:
        raise ValueError(f"need at least two words for a map, not {len(words)}")
    unknown = sorted({word for pair in pairs for word in pair} - set(words))
    if unknown:
        raise ValueError(f"pair words missing from words: {unknown}")
    matrix = np.stack([np.asarray(vectors[word], dtype=float) for word in words])  # (n, d)
    if normalise:
        matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    centred = matrix - matrix.mean(axis=0)  # (n, d)
    _, singular_values, components = np.linalg.svd(centred, full_matrices=False)  # components: (min(n, d), d)
    components = components[:2]
    if len(components) < 2:  # one-dimensional vectors: the second axis is all zeros
        components = np.vstack([components, np.zeros_like(components)])
    coordinates = centred @ components.T  # (n, 2)
    largest = np.abs(coordinates).argmax(axis=0)
    coordinates *= np.where(coordinates[largest, [0, 1]] < 0, -1.0, 1.0)
    variance = singular_values**2
    share = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    share = np.pad(share, (0, 2))[:2]

    ax = _axes(ax, (6.0, 5.0))
    ax.scatter(coordinates[:, 0], coordinates[:, 1], s=18, color="C0", zorder=3)
    position = {word: coordinates[i] for i, word in enumerate(words)}
    for word in words:
        ax.annotate(word, position[word], xytext=(4, 3), textcoords="offset points", fontsize=9)
    for start, end in pairs:
        ax.add_patch(FancyArrowPatch(position[start], position[end], arrowstyle="-|>", mutation_scale=10,
                                     color="gray", alpha=0.7, shrinkA=4, shrinkB=4))
    ax.set_xlabel(f"PC1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({share[1]:.0%} of variance)")
    ax.margins(0.15)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    *,
    ylabel: str,
    title: str | None = None,
    value_format: str | None = "{:.2f}",
) -> Axes:
    """Bars side by side: one group per entry of ``groups``, one bar per series in each group.

    Args:
        groups: the x-axis categories (e.g. metric names), length ``n_groups``.
        series: ``{legend label: values of shape (n_groups,)}`` (e.g. one entry per model), drawn
            left to right within each group in this order.
        ax: where to draw; a new figure when ``None``.
        ylabel, title: axis label and title.
        value_format: format of the number written above each bar; ``None`` writes none.
    """
    n_groups, n_series = len(groups), len(series)
    if n_series == 0:
        raise ValueError("need at least one series")
    ax = _axes(ax, (1.2 * n_groups * max(n_series, 2) / 2 + 2.0, 4.0))
    width = 0.8 / n_series
    centres = np.arange(n_groups)
    for k, (label, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        if values.shape != (n_groups,):
            raise ValueError(f"series {label!r} has shape {values.shape}, expected ({n_groups},)")
        bars = ax.bar(centres + (k - (n_series - 1) / 2) * width, values, width, label=label)
        if value_format is not None:
            ax.bar_label(bars, labels=[value_format.format(v) for v in values], fontsize=8, padding=2)
    ax.set_xticks(centres, list(groups))
    ax.set_ylabel(ylabel)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.margins(y=0.12)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax
