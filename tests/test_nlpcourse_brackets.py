from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from nlpcourse.brackets import (
    CHARS, balanced_prefixes, brace_depth, corrupt, decode, encode, is_balanced, lstm_states, make_snippets,
    paren_depth, random_snippet,
)


def test_is_balanced_by_hand() -> None:
    for text in ["", "x;", "()", "{}", "f(a, b);", "if (x < f(y)) { z = (a + b); }", "{ { () } ()}"]:
        assert is_balanced(text), text
    for text in ["(", "}", ")(", "{(})", "{ x = 1;", "f(a;", "x = g(a));"]:
        assert not is_balanced(text), text


def test_depths_and_balanced_prefixes_by_hand() -> None:
    text = "a{(b)}c}{"
    assert brace_depth(text).tolist() == [0, 1, 1, 1, 1, 0, 0, -1, 0]
    assert paren_depth(text).tolist() == [0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert balanced_prefixes(text).tolist() == [True, False, False, False, False, True, True, False, False]
    assert balanced_prefixes("){}").tolist() == [False, False, False]  # an unmatched closer is never repaired
    assert balanced_prefixes("(}").tolist() == [False, False]          # nor is a wrong pair
    assert brace_depth("").shape == (0,)


def test_balanced_prefixes_agree_with_is_balanced() -> None:
    rng = random.Random(1)
    texts, _ = make_snippets(60, rng, min_length=20, max_length=60)
    for text in texts:
        flags = balanced_prefixes(text)
        assert flags.tolist() == [is_balanced(text[:t + 1]) for t in range(len(text))]


def test_random_snippets_are_balanced_in_range_and_reproducible() -> None:
    rng = random.Random(0)
    snippets = [random_snippet(rng, max_depth=3, min_length=50, max_length=120) for _ in range(200)]
    assert all(is_balanced(s) and 50 <= len(s) <= 120 for s in snippets)
    assert set("".join(snippets)) <= set(CHARS)
    assert max(int(brace_depth(s).max()) for s in snippets) == 3  # blocks nest up to max_depth, no deeper
    assert any("(" in s and "{" in s for s in snippets)
    again = random.Random(0)
    assert snippets[:5] == [random_snippet(again, max_depth=3, min_length=50, max_length=120) for _ in range(5)]
    with pytest.raises(ValueError):
        random_snippet(rng, min_length=10, max_length=5)


def test_corrupt_always_unbalances_by_one_bracket() -> None:
    rng = random.Random(2)
    for _ in range(300):
        text = random_snippet(rng, min_length=30, max_length=90)
        broken = corrupt(text, rng)
        assert not is_balanced(broken)
        assert abs(len(broken) - len(text)) == 1
        removed_or_added = len(broken) - len(text)
        counts = {b: broken.count(b) - text.count(b) for b in "{}()"}
        assert sorted(counts.values()) == ([-1, 0, 0, 0] if removed_or_added < 0 else [0, 0, 0, 1])


def test_make_snippets_half_balanced_labels_right() -> None:
    texts, labels = make_snippets(101, random.Random(3), min_length=20, max_length=80)
    assert len(texts) == 101 and labels.shape == (101,) and labels.dtype == np.int64
    assert labels.sum() == 51
    assert [int(is_balanced(t)) for t in texts] == labels.tolist()
    assert 0 < labels[:50].sum() < 50  # shuffled, not all balanced first


def test_encode_decode() -> None:
    ids = encode("if (x) { y; }")
    assert ids.dtype == torch.long and ids.shape == (13,)
    assert int(ids.min()) >= 1 and int(ids.max()) <= len(CHARS)
    assert decode(ids) == "if (x) { y; }"
    assert decode([0, *ids.tolist(), 0]) == "if (x) { y; }"  # padding skipped
    with pytest.raises(KeyError, match="Q"):
        encode("Q = 1;")


def test_lstm_states_match_nn_lstm() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True)
    inputs = torch.randn(2, 7, 3)
    hidden, cells = lstm_states(lstm, inputs)
    outputs, (h_n, c_n) = lstm(inputs)
    assert hidden.shape == cells.shape == (2, 7, 5)
    assert torch.allclose(hidden, outputs, atol=1e-6)
    assert torch.allclose(cells[:, -1], c_n[0], atol=1e-6)
    # h_t = o_t * tanh(c_t) with o_t in (0, 1): |h_t| < |tanh(c_t)|
    assert bool((hidden.abs() <= torch.tanh(cells).abs() + 1e-7).all())
    with pytest.raises(ValueError):
        lstm_states(nn.LSTM(3, 5, batch_first=True, bidirectional=True), inputs)
