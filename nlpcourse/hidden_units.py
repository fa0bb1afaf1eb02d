"""Looking inside a character model: simple features of a text, unit-feature correlations, text coloured by a unit.

The hidden state after reading character ``t`` has seen ``text[:t + 1]``, so every feature here is
a function of the text up to and including position ``t`` (or of where ``t`` lies in the layout of
the text, such as its line). Activations are arrays of shape ``(T, H)``: one row per character, one
column per hidden unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["plot_text_activations", "text_features", "text_grid", "unit_correlations"]

NEWLINE_MARK = "\u21b5"  # the arrow drawn in place of a newline character


def text_features(text: str) -> dict[str, np.ndarray]:
    """Per-character features of ``text``, each of shape ``(T,)`` with ``T = len(text)``, float64.

    - ``position in line``: how many characters of the current line come before this one (0 for
      the first character of a line; a newline counts as the last character of its line);
    - ``speaker name``: 1 on the characters of a speaker line, a line that follows an empty line
      (or starts the text) and ends with ``:`` (``"ROMEO:"``), newline excluded;
    - ``uppercase``: 1 on an upper-case letter;
    - ``inside word``: 1 on a letter or an apostrophe that follows a letter (``"Call'd"``);
    - ``newline``: 1 on a newline character.
    """
    n = len(text)
    position = np.zeros(n)
    speaker = np.zeros(n)
    start = 0
    previous_line_empty = True
    for line in text.split("\n"):
        end = start + len(line)  # index of the newline ending this line (== n for the last line)
        width = min(end + 1, n) - start
        position[start:start + width] = np.arange(width)
        if previous_line_empty and line.endswith(":"):
            speaker[start:end] = 1.0
        previous_line_empty = line == ""
        start = end + 1
    letters = np.array([char.isalpha() for char in text], dtype=bool)
    apostrophe_in_word = np.array([char == "'" for char in text], dtype=bool) & np.r_[False, letters[:-1]]
    return {
        "position in line": position,
        "speaker name": speaker,
        "uppercase": np.array([char.isupper() for char in text], dtype=float),
        "inside word": (letters | apostrophe_in_word).astype(float),
        "newline": np.array([char == "\n" for char in text], dtype=float),
    }


def unit_correlations(activations: np.ndarray, features: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pearson correlation of every hidden unit with every feature, shape ``(F, H)``.

    ``activations`` is ``(T, H)``; each feature is ``(T,)``. A unit or feature that never changes
    has correlation 0 with everything.
    """
    activations = np.asarray(activations, dtype=float)
    table = np.stack([np.asarray(values, dtype=float) for values in features.values()])  # (F, T)
    if activations.ndim != 2 or table.shape[1] != activations.shape[0]:
        raise ValueError(f"features of length {table.shape[1]} do not fit activations of shape {activations.shape}")
    centred_units = activations - activations.mean(axis=0)          # (T, H)
    centred_features = table - table.mean(axis=1, keepdims=True)    # (F, T)
    covariance = centred_features @ centred_units                   # (F, H), times T
    scale = np.outer(np.linalg.norm(centred_features, axis=1), np.linalg.norm(centred_units, axis=0))
    return np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0)


def text_grid(text: str, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each character goes in a grid that keeps the text's lines: ``(rows, cols)``, each ``(T,)`` int.

    Every line of the text starts a new row; its newline is the last cell of the row. A line longer
    than ``columns`` cells continues on the next row.
    """
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}")
    rows, cols = np.empty(len(text), dtype=int), np.empty(len(text), dtype=int)
    row, col = 0, 0
    for i, char in enumerate(text):
        if col == columns:
            row, col = row + 1, 0
        rows[i], cols[i] = row, col
        col += 1
        if char == "\n":
            row, col = row + 1, 0
    return rows, cols


def plot_text_activations(
    text: str,
    values: np.ndarray,
    ax: Axes | None = None,
    *,
    columns: int = 64,
    vmin: float = -1.0,
    vmax: float = 1.0,
    cmap: str = "RdBu_r",
    alpha: float = 0.6,
    title: str | None = None,
) -> Axes:
    """Draw ``text`` in a grid of character cells, each cell coloured by its value (one unit's activation).

    Args:
        text: the passage, ``T`` characters; newlines start new rows and are drawn as ``↵``.
        values: one number per character, shape ``(T,)`` (e.g. ``activations[:, unit]``).
        ax: where to draw; a new figure sized to the text when ``None``.
        columns: cells per row before a long line wraps.
        vmin, vmax, cmap: colour scale; the default suits ``tanh`` units (blue -1, white 0, red +1).
        alpha: opacity of the colours; below 1 keeps the characters readable on the darkest cells.
        title: the Axes title.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(text),):
        raise ValueError(f"need one value per character: {len(text)} characters, values of shape {values.shape}")
    rows, cols = text_grid(text, columns)
    n_rows = int(rows.max()) + 1 if len(text) else 1
    grid = np.full((n_rows, columns), np.nan)
    grid[rows, cols] = values
    if ax is None:
        _, ax = plt.subplots(figsize=(0.13 * columns + 0.5, 0.24 * n_rows + 0.6))
    colours = plt.get_cmap(cmap).with_extremes(bad="white")  # empty cells stay white
    ax.imshow(np.ma.masked_invalid(grid), cmap=colours, vmin=vmin, vmax=vmax, alpha=alpha,
              aspect="auto", interpolation="nearest")
    for char, row, col in zip(text, rows, cols):
        ax.text(col, row, NEWLINE_MARK if char == "\n" else char, ha="center", va="center",
                fontsize=8, family="monospace")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=9, loc="left")
    return ax
