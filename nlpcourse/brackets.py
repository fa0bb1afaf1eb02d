"""C-like code snippets with balanced and unbalanced brackets, for a character-level counting task.

:func:`random_snippet` writes one line of made-up C (assignments, calls, ``if``/``while``/``for``
blocks) whose brackets are balanced; :func:`corrupt` drops one bracket or inserts one, which always
unbalances it. :func:`make_snippets` draws a data set that is half of each. :func:`balanced_prefixes`
gives a target at every character (is the text so far balanced?), and :func:`brace_depth` the quantity
a counting network should track: the ``{``-depth after every character.

Characters are encoded with :data:`CHARS`: id 0 is padding, id ``1 + k`` is ``CHARS[k]``.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHARS", "balanced_prefixes", "brace_depth", "corrupt", "decode", "encode", "is_balanced", "lstm_states",
    "make_snippets", "paren_depth", "random_snippet",
]

VARIABLES = ("a", "b", "c", "i", "j", "n", "x", "y", "z")
FUNCTIONS = ("f", "g", "h", "max", "min", "sum")
OPERATORS = ("+", "-", "*", "/", "<", ">", "==")
BRACKETS = "{}()"
PAIRS = {")": "(", "}": "{"}
CHARS = " (){}*+,-/0123456789;<=>abcefghijlmnorstuwxyz"  # every character a snippet can contain


def encode(text: str) -> torch.Tensor:
    """Character ids of ``text``, shape ``(len(text),)`` int64: ``1 + CHARS.index(char)`` (0 is padding)."""
    index = {char: i + 1 for i, char in enumerate(CHARS)}
    missing = sorted(set(text) - index.keys())
    if missing:
        raise KeyError(f"characters outside CHARS: {missing!r}")
    return torch.tensor([index[char] for char in text], dtype=torch.long)


def decode(ids) -> str:
    """The text of a sequence of ids (a list or a 1-D tensor); padding (id 0) is skipped."""
    return "".join(CHARS[int(i) - 1] for i in ids if int(i) != 0)


def _expression(rng: random.Random, nesting: int) -> str:
    """A variable, a number, a call, or a bracketed binary expression (while ``nesting`` allows)."""
    choice = rng.random()
    if nesting <= 0 or choice < 0.45:
        return rng.choice(VARIABLES) if rng.random() < 0.7 else str(rng.randrange(100))
    if choice < 0.75:
        arguments = ", ".join(_expression(rng, nesting - 1) for _ in range(rng.randrange(3)))
        return f"{rng.choice(FUNCTIONS)}({arguments})"
    return f"({_expression(rng, nesting - 1)} {rng.choice(OPERATORS)} {_expression(rng, nesting - 1)})"


def _statement(rng: random.Random, depth: int, max_depth: int) -> str:
    """One statement; a block statement (``if``, ``while``, ``for``) only while ``depth < max_depth``."""
    choice = rng.random()
    if depth < max_depth and choice < 0.5:
        body = _block(rng, depth + 1, max_depth)
        condition = f"{_expression(rng, 1)} {rng.choice(OPERATORS[4:])} {_expression(rng, 1)}"
        kind = rng.randrange(4)
        if kind == 0:
            return f"if ({condition}) {{ {body} }}"
        if kind == 1:
            return f"if ({condition}) {{ {body} }} else {{ {_block(rng, depth + 1, max_depth)} }}"
        if kind == 2:
            return f"while ({condition}) {{ {body} }}"
        variable = rng.choice(VARIABLES[3:5])
        return f"for ({variable} = 0; {variable} < {rng.choice(VARIABLES)}; {variable}++) {{ {body} }}"
    if choice < 0.8:
        return f"{rng.choice(VARIABLES)} = {_expression(rng, 2)};"
    if choice < 0.92:
        return f"{rng.choice(FUNCTIONS)}({', '.join(_expression(rng, 1) for _ in range(rng.randrange(1, 3)))});"
    return f"return {_expression(rng, 2)};"


def _block(rng: random.Random, depth: int, max_depth: int) -> str:
    """One to three statements, separated by spaces."""
    return " ".join(_statement(rng, depth, max_depth) for _ in range(rng.randrange(1, 4)))


def random_snippet(rng: random.Random, *, max_depth: int = 4, min_length: int = 80,
                   max_length: int = 200) -> str:
    """One line of C-like code with balanced brackets, ``min_length <= len <= max_length`` characters.

    Statements are drawn until the line is long enough; a draw that makes it too long is thrown away
    (and the whole line restarted when that happens repeatedly). ``{``-blocks nest at most
    ``max_depth`` deep; ``( )`` appear in calls, conditions and bracketed expressions.
    """
    if min_length > max_length:
        raise ValueError(f"min_length {min_length} exceeds max_length {max_length}")
    while True:
        statements: list[str] = []
        length, misses = -1, 0
        while length < min_length and misses < 20:
            statement = _statement(rng, 0, max_depth)
            if length + 1 + len(statement) <= max_length:
                statements.append(statement)
                length += 1 + len(statement)
            else:
                misses += 1
        if length >= min_length:
            return " ".join(statements)


def corrupt(text: str, rng: random.Random) -> str:
    """``text`` with one bracket dropped or one inserted (each half of the time), at a random place.

    A balanced text has as many ``(`` as ``)`` and as many ``{`` as ``}``; dropping or inserting one
    bracket changes one of those counts by one, so the result is never balanced. An inserted bracket
    is one of ``{ } ( )`` with equal chance; it may land anywhere, also inside a word.
    """
    positions = [i for i, char in enumerate(text) if char in BRACKETS]
    if positions and rng.random() < 0.5:
        dropped = rng.choice(positions)
        return text[:dropped] + text[dropped + 1:]
    where = rng.randrange(len(text) + 1)
    return text[:where] + BRACKETS[rng.randrange(4)] + text[where:]


def is_balanced(text: str) -> bool:
    """Whether every ``(``/``{`` is closed by the matching ``)``/``}`` in the right order (a stack check)."""
    stack: list[str] = []
    for char in text:
        if char in "({":
            stack.append(char)
        elif char in PAIRS:
            if not stack or stack.pop() != PAIRS[char]:
                return False
    return not stack


def balanced_prefixes(text: str) -> np.ndarray:
    """For every position ``t``, whether ``text[:t + 1]`` is balanced; shape ``(T,)`` bool.

    Once a closing bracket has no matching opener, no longer prefix is balanced again.
    """
    stack: list[str] = []
    broken = False
    flags = np.zeros(len(text), dtype=bool)
    for t, char in enumerate(text):
        if char in "({":
            stack.append(char)
        elif char in PAIRS and not broken:
            broken = not stack or stack.pop() != PAIRS[char]
        flags[t] = not broken and not stack
    return flags


def _depth(text: str, opening: str, closing: str) -> np.ndarray:
    steps = np.array([(char == opening) - (char == closing) for char in text], dtype=np.int64)
    return np.cumsum(steps)


def brace_depth(text: str) -> np.ndarray:
    """``{``-depth after each character, shape ``(T,)`` int64: ``#{`` minus ``#}`` in ``text[:t + 1]``.

    The hidden state after reading character ``t`` has seen exactly ``text[:t + 1]``, so this is the
    depth it could know. An unbalanced text can end above 0 or go below it.
    """
    return _depth(text, "{", "}")


def paren_depth(text: str) -> np.ndarray:
    """``(``-depth after each character, shape ``(T,)`` int64, as :func:`brace_depth` for ``( )``."""
    return _depth(text, "(", ")")


def make_snippets(n: int, rng: random.Random, **snippet_options) -> tuple[list[str], np.ndarray]:
    """``n`` snippets, the first half balanced and the rest corrupted copies of fresh ones, then shuffled.

    Returns the texts and their labels, shape ``(n,)`` int64: 1 = balanced, 0 = unbalanced.
    ``snippet_options`` go to :func:`random_snippet`.
    """
    n_balanced = n - n // 2
    texts = [random_snippet(rng, **snippet_options) for _ in range(n)]
    texts[n_balanced:] = [corrupt(text, rng) for text in texts[n_balanced:]]
    labels = np.array([1] * n_balanced + [0] * (n - n_balanced), dtype=np.int64)
    order = list(range(n))
    rng.shuffle(order)
    return [texts[i] for i in order], labels[order]


def lstm_states(lstm: nn.LSTM, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states ``h_t`` and cell states ``c_t`` of a one-layer, one-way, batch-first ``nn.LSTM``.

    ``nn.LSTM`` returns ``h_t`` for every step but ``c_t`` only for the last; this runs the module
    itself one step at a time, carrying ``(h, c)``, to keep both. ``inputs`` is ``(B, T, D)``; returns
    two tensors of shape ``(B, T, H)``.
    """
    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first:
        raise ValueError("lstm_states needs a one-layer, unidirectional nn.LSTM with batch_first=True")
    state = None
    hidden, cells = [], []
    for t in range(inputs.size(1)):
        _, state = lstm(inputs[:, t:t + 1], state)  # state: (h, c), each (1, B, H)
        hidden.append(state[0][0])
        cells.append(state[1][0])
    return torch.stack(hidden, dim=1), torch.stack(cells, dim=1)

