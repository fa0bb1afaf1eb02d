from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from nlpcourse import plots


def test_confusion_matrix_cells_are_sklearn_counts() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, size=200))
    ax = plots.plot_confusion_matrix(y_true, y_pred, labels=["a", "b", "c"])
    expected = confusion_matrix(y_true, y_pred)
    drawn = {(round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text()) for t in ax.texts}
    assert drawn == {(i, j): expected[i, j] for i in range(3) for j in range(3)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_confusion_matrix_keeps_absent_classes_and_given_axes() -> None:
    _, given = plt.subplots()
    ax = plots.plot_confusion_matrix([0, 0, 1], [0, 1, 1], labels=("neg", "pos", "neutral"), ax=given)
    assert ax is given
    assert len(ax.texts) == 9
    assert sorted(int(t.get_text()) for t in ax.texts) == [0] * 6 + [1] * 3


def test_top_features_draws_k_bars_largest_on_top() -> None:
    names = ["w0", "w1", "w2", "w3", "w4"]
    scores = np.array([0.5, 3.0, -1.0, 2.0, 1.0])
    ax = plots.plot_top_features(names, scores, k=3, title="top")
    bars = ax.patches
    assert len(bars) == 3
    # bars are drawn bottom-up: the top bar (largest y) is the largest score
    by_height = sorted(bars, key=lambda bar: bar.get_y(), reverse=True)
    assert [bar.get_width() for bar in by_height] == [3.0, 2.0, 1.0]
    labels_bottom_up = [t.get_text() for t in ax.get_yticklabels()]
    assert labels_bottom_up == ["w4", "w3", "w1"]
    assert ax.get_title() == "top"


def test_top_features_caps_k_and_checks_lengths() -> None:
    ax = plots.plot_top_features(["a", "b"], [1.0, 2.0], k=10)
    assert len(ax.patches) == 2
    with pytest.raises(ValueError, match="one score per name"):
        plots.plot_top_features(["a", "b"], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="k must be"):
        plots.plot_top_features(["a"], [1.0], k=0)


def test_rank_frequency_is_sorted_on_log_axes() -> None:
    counts = np.array([3, 0, 10, 1, 5])
    ax = plots.plot_rank_frequency(counts)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    corpus, reference = ax.get_lines()
    np.testing.assert_array_equal(corpus.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(corpus.get_ydata(), [10, 5, 3, 1])
    np.testing.assert_allclose(reference.get_ydata(), 10 / np.arange(1, 5))


def test_rank_frequency_without_reference() -> None:
    ax = plots.plot_rank_frequency([4, 2, 1], reference=False, label="toy")
    assert len(ax.get_lines()) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["toy"]


def test_sweep_draws_one_line_per_curve_and_marks_best() -> None:
    alphas = [0.01, 0.1, 1.0, 10.0]
    curves = {"validation": [0.70, 0.75, 0.78, 0.74], "test": [0.69, 0.76, 0.77, 0.75]}
    ax = plots.plot_sweep(alphas, curves, xlabel="alpha", ylabel="accuracy")
    assert ax.get_xscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 4  # two curves, two best-point markers
    np.testing.assert_allclose(lines[0].get_ydata(), curves["validation"])
    assert (lines[1].get_xdata()[0], lines[1].get_ydata()[0]) == (1.0, 0.78)
    assert (lines[3].get_xdata()[0], lines[3].get_ydata()[0]) == (1.0, 0.77)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["validation", "test"]


def test_sweep_options_and_errors() -> None:
    ax = plots.plot_sweep([1, 2, 3], {"loss": [3.0, 1.0, 2.0]}, xlabel="epoch", ylabel="loss",
                          log_x=False, mark_best="min")
    assert ax.get_xscale() == "linear"
    assert (ax.get_lines()[1].get_xdata()[0], ax.get_lines()[1].get_ydata()[0]) == (2.0, 1.0)
    with pytest.raises(ValueError, match="has shape"):
        plots.plot_sweep([1, 2], {"x": [1.0]}, xlabel="a", ylabel="b")
    with pytest.raises(ValueError, match="mark_best"):
        plots.plot_sweep([1], {"x": [1.0]}, xlabel="a", ylabel="b", mark_best="best")


def test_word_map_places_words_at_their_principal_components() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(6)]
    vectors = {word: rng.normal(size=5) for word in words}
    ax = plots.plot_word_map(vectors, words, pairs=[("w0", "w1"), ("w2", "w3")], normalise=False, title="map")
    drawn = ax.collections[0].get_offsets()  # (6, 2)
    matrix = np.stack([vectors[word] for word in words])
    centred = matrix - matrix.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)  # ascending
    expected = centred @ eigenvectors[:, ::-1][:, :2]
    for k in range(2):  # the same up to the sign of each component
        assert np.allclose(drawn[:, k], expected[:, k]) or np.allclose(drawn[:, k], -expected[:, k])
        assert np.abs(drawn[:, k]).max() == drawn[np.abs(drawn[:, k]).argmax(), k]  # largest coordinate positive
    assert [t.get_text() for t in ax.texts] == words
    assert len(ax.patches) == 2  # one arrow per pair
    share = eigenvalues[::-1] / eigenvalues.sum()
    assert ax.get_xlabel() == f"PC1 ({share[0]:.0%} of variance)"
    assert ax.get_ylabel() == f"PC2 ({share[1]:.0%} of variance)"
    assert ax.get_title() == "map"


def test_word_map_normalises_and_checks_its_input() -> None:
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([10.0, 0.0]), "c": np.array([0.0, 3.0])}
    _, given = plt.subplots()
    ax = plots.plot_word_map(vectors, ["a", "b", "c"], ax=given)  # a and b point the same way
    assert ax is given
    drawn = ax.collections[0].get_offsets()
    assert np.allclose(drawn[0], drawn[1])
    with pytest.raises(ValueError, match="at least two"):
        plots.plot_word_map(vectors, ["a"])
    with pytest.raises(ValueError, match="missing from words"):
        plots.plot_word_map(vectors, ["a", "b"], pairs=[("a", "c")])


def test_grouped_bars_one_bar_per_series_and_group() -> None:
    groups = ["analogy", "WordSim353", "SimLex-999"]
    series = {"SGNS": [0.08, 0.36, 0.22], "GloVe": [0.04, 0.31, -0.05]}
    ax = plots.plot_grouped_bars(groups, series, ylabel="score", title="models")
    bars = [patch for patch in ax.patches]
    assert len(bars) == 6
    heights = [bar.get_height() for bar in bars]
    assert np.allclose(heights, series["SGNS"] + series["GloVe"])
    centres = [bar.get_x() + bar.get_width() / 2 for bar in bars]
    assert all(centres[k] < centres[k + 3] for k in range(3))  # SGNS left of GloVe in each group
    assert np.allclose(np.array(centres[3:]) - np.array(centres[:3]), bars[0].get_width())
    assert [t.get_text() for t in ax.get_xticklabels()] == groups
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGNS", "GloVe"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in series["SGNS"] + series["GloVe"])
    assert ax.get_ylabel() == "score" and ax.get_title() == "models"


def test_grouped_bars_checks_shapes() -> None:
    with pytest.raises(ValueError, match="has shape"):
        plots.plot_grouped_bars(["a", "b"], {"x": [1.0]}, ylabel="y")
    with pytest.raises(ValueError, match="at least one series"):
        plots.plot_grouped_bars(["a"], {}, ylabel="y")
    ax = plots.plot_grouped_bars(["a"], {"x": [1.0]}, ylabel="y", value_format=None)
    assert not ax.texts
