from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nlpcourse.hidden_units import (
    NEWLINE_MARK, plot_text_activations, text_features, text_grid, unit_correlations,
)

PASSAGE = "ROMEO:\nCall'd me, sir.\n\nJULIET:\nAy.\n"


def test_text_features_by_hand() -> None:
    features = text_features(PASSAGE)
    assert set(features) == {"position in line", "speaker name", "uppercase", "inside word", "newline"}
    assert all(values.shape == (len(PASSAGE),) for values in features.values())
    assert features["position in line"][:8].tolist() == [0, 1, 2, 3, 4, 5, 6, 0]  # "ROMEO:\n" then "C"
    speaker = "".join(char for char, flag in zip(PASSAGE, features["speaker name"]) if flag)
    assert speaker == "ROMEO:JULIET:"  # "Ay." follows a speaker line, not an empty one
    inside = "".join(char if flag else "_" for char, flag in zip(PASSAGE, features["inside word"]))
    assert inside[7:22] == "Call'd_me__sir_"  # the second line, "Call'd me, sir."
    assert features["uppercase"].sum() == sum(char.isupper() for char in PASSAGE)
    assert features["newline"].sum() == PASSAGE.count("\n")


def test_text_features_speaker_at_the_start_and_without_final_newline() -> None:
    features = text_features("KING:\nNo")
    assert features["speaker name"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert features["position in line"].tolist() == [0, 1, 2, 3, 4, 5, 0, 1]


def test_unit_correlations_match_numpy() -> None:
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(300, 7))
    features = {"a": rng.normal(size=300), "b": (rng.random(300) < 0.3).astype(float)}
    activations[:, 2] = 3 * features["a"] + 1  # a perfect positive correlation
    activations[:, 4] = 0.5                    # a constant unit
    table = unit_correlations(activations, features)
    assert table.shape == (2, 7)
    for f, values in enumerate(features.values()):
        for h in range(7):
            expected = 0.0 if h == 4 else np.corrcoef(values, activations[:, h])[0, 1]
            assert np.isclose(table[f, h], expected)
    assert np.isclose(table[0, 2], 1.0)
    with pytest.raises(ValueError, match="do not fit"):
        unit_correlations(activations[:10], features)


def test_text_grid_keeps_lines_and_wraps_long_ones() -> None:
    rows, cols = text_grid("ab\ncdefg\n\nh", columns=3)
    assert list(zip(rows.tolist(), cols.tolist())) == [
        (0, 0), (0, 1), (0, 2),          # "ab\n"
        (1, 0), (1, 1), (1, 2),          # "cde"
        (2, 0), (2, 1), (2, 2),          # "fg\n"
        (3, 0),                          # "\n"
        (4, 0),                          # "h"
    ]
    with pytest.raises(ValueError, match="columns"):
        text_grid("abc", columns=0)


def test_plot_text_activations_colours_each_character_cell() -> None:
    values = np.linspace(-1, 1, len(PASSAGE))
    ax = plot_text_activations(PASSAGE, values, columns=16, title="unit 3")
    drawn = [t.get_text() for t in ax.texts]
    assert drawn == [NEWLINE_MARK if char == "\n" else char for char in PASSAGE]
    image = ax.images[0].get_array()
    rows, cols = text_grid(PASSAGE, 16)
    assert image.shape == (rows.max() + 1, 16)
    assert np.allclose(image[rows, cols], values)
    assert image.mask.sum() == image.size - len(PASSAGE)  # empty cells are masked
    assert ax.get_title(loc="left") == "unit 3"
    _, given = plt.subplots()
    assert plot_text_activations("ab", [0.1, 0.2], ax=given) is given
    with pytest.raises(ValueError, match="one value per character"):
        plot_text_activations("abc", [0.0, 1.0])
