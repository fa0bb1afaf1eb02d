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
from numpy.typing import ArrayLike
from sklearn.metrics import confusion_matrix

__all__ = ["plot_confusion_matrix", "plot_rank_frequency", "plot_sweep", "plot_top_features"]


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
