"""Tiny Shakespeare loading, batching for truncated BPTT, the reference models, training and sampling."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from nlpcourse.charlm import (
    CharLanguageModel,
    CharVocabulary,
    batchify,
    chunks,
    detach_state,
    evaluate,
    fit_tbptt,
    known_word_share,
    load_shakespeare,
    sample,
    split_by_position,
    unigram_cross_entropy,
    words_of,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def text() -> str:
    return load_shakespeare()


def test_the_text_has_the_published_size_and_split(text: str) -> None:
    assert len(text) == 1_115_394 and text.count("\n") == 40_000
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    train, valid = split_by_position(text)
    assert (len(train), len(valid)) == (1_003_854, 111_540)  # nanoGPT's shakespeare_char split
    assert train + valid == text
    assert len(CharVocabulary.from_text(text)) == 65


def test_vocabulary_round_trips_and_names_unknown_characters() -> None:
    vocabulary = CharVocabulary.from_text("hello")
    assert vocabulary.chars == ("e", "h", "l", "o")
    ids = vocabulary.encode("hello")
    assert ids.tolist() == [1, 0, 2, 2, 3] and ids.dtype == torch.long
    assert vocabulary.decode(ids) == "hello" and vocabulary.decode([3, 1]) == "oh"
    with pytest.raises(KeyError, match="'z'"):
        vocabulary.encode("hez")


def test_split_rejects_fractions_outside_the_open_interval() -> None:
    for fraction in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="train_fraction"):
            split_by_position("abcdef", fraction)


def test_batchify_makes_contiguous_rows_and_drops_the_remainder() -> None:
    streams = batchify(torch.arange(23), 4)
    assert streams.shape == (4, 5)
    assert streams[1].tolist() == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="too few"):
        batchify(torch.arange(5), 4)
    with pytest.raises(ValueError, match="1-D"):
        batchify(torch.zeros(2, 3), 2)


def test_chunks_shift_targets_by_one_and_cover_every_prediction_once() -> None:
    streams = torch.arange(22).view(2, 11)
    windows = list(chunks(streams, 4))
    assert [inputs.size(1) for inputs, _ in windows] == [4, 4, 2]
    for inputs, targets in windows:
        assert torch.equal(targets, inputs + 1)
    assert torch.equal(torch.cat([t for _, t in windows], dim=1), streams[:, 1:])


def test_detach_state_handles_tensors_tuples_and_none() -> None:
    h = torch.ones(2, requires_grad=True) * 2
    assert not detach_state(h).requires_grad
    assert all(not part.requires_grad for part in detach_state((h, h)))
    assert detach_state(None) is None


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_reference_models_give_logits_and_carry_state(cell: str) -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(7, 5, cell=cell, embedding_dim=3, num_layers=2)
    inputs = torch.randint(0, 7, (2, 6))
    logits, state = model(inputs)
    assert logits.shape == (2, 6, 7)
    first, middle = model(inputs[:, :4])
    second, _ = model(inputs[:, 4:], middle)
    assert torch.allclose(torch.cat([first, second], dim=1), logits, atol=1e-6)


def test_forget_bias_sets_the_second_quarter_of_the_lstm_input_bias() -> None:
    model = CharLanguageModel(5, 4, cell="lstm", embedding_dim=3, forget_bias=1.0)
    assert torch.all(model.recurrent.bias_ih_l0[4:8] == 1.0)
    with pytest.raises(ValueError, match="LSTM only"):
        CharLanguageModel(5, 4, cell="gru", forget_bias=1.0)
    with pytest.raises(ValueError, match="cell must be"):
        CharLanguageModel(5, 4, cell="transformer")


def test_evaluate_is_the_mean_next_character_cross_entropy() -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(6, 4, embedding_dim=3)
    streams = torch.randint(0, 6, (3, 17))
    with torch.no_grad():
        logits, _ = model(streams[:, :-1])  # one window over everything: the same as carrying the state
        expected = F.cross_entropy(logits.reshape(-1, 6), streams[:, 1:].reshape(-1)).item()
    assert math.isclose(evaluate(model, streams, 5, CPU), expected, rel_tol=1e-5)


def test_fit_tbptt_learns_a_repeating_text_reproducibly() -> None:
    vocabulary = CharVocabulary.from_text("abcd")
    streams = batchify(vocabulary.encode("abcd" * 200), 4)

    def train() -> tuple[list[float], list[float]]:
        torch.manual_seed(0)
        model = CharLanguageModel(4, 16, embedding_dim=4)
        history = fit_tbptt(model, streams, torch.optim.Adam(model.parameters(), lr=1e-2), seq_len=20,
                            epochs=3, device=CPU, valid_streams=streams, progress=False)
        assert len(history.seconds) == 3 and history.seconds == sorted(history.seconds)
        return history.train_losses, history.valid_losses

    train_losses, valid_losses = train()
    assert train_losses[-1] < train_losses[0] and valid_losses[-1] < 0.1  # ln 4 = 1.39 untrained
    assert train() == (train_losses, valid_losses)


def test_sample_is_seeded_and_follows_a_sharp_model() -> None:
    vocabulary = CharVocabulary.from_text("abcd")
    streams = batchify(vocabulary.encode("abcd" * 200), 4)
    torch.manual_seed(0)
    model = CharLanguageModel(4, 16, embedding_dim=4)
    fit_tbptt(model, streams, torch.optim.Adam(model.parameters(), lr=1e-2), seq_len=20, epochs=3,
              device=CPU, progress=False)
    drawn = sample(model, vocabulary, "ab", 8, temperature=0.5, generator=torch.Generator().manual_seed(0))
    assert drawn == "cdabcdab"
    assert sample(model, vocabulary, "ab", 8, temperature=2.0, generator=torch.Generator().manual_seed(1)) == \
        sample(model, vocabulary, "ab", 8, temperature=2.0, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="temperature"):
        sample(model, vocabulary, "ab", 3, temperature=0.0)
    with pytest.raises(ValueError, match="prefix"):
        sample(model, vocabulary, "", 3)


def test_known_word_share_counts_words_spelt_as_in_a_reference() -> None:
    assert words_of("Thou'rt here,\nMY lord.") == ["Thou'rt", "here", "MY", "lord"]
    known = set(words_of("thou art my lord"))
    assert known_word_share("my lord, thou zzz", known) == 0.75
    assert known_word_share("  ,;  ", known) == 0.0


def test_unigram_cross_entropy_is_the_context_free_baseline(text: str) -> None:
    vocabulary = CharVocabulary.from_text(text)
    train, valid = split_by_position(vocabulary.encode(text))
    assert math.isclose(unigram_cross_entropy(train, valid, len(vocabulary)), 3.3473, abs_tol=1e-4)
    assert math.isclose(unigram_cross_entropy(train, train, len(vocabulary)), 3.3091, abs_tol=1e-4)  # the entropy
    unseen = torch.tensor([0, 0, 1])
    assert math.isinf(unigram_cross_entropy(unseen, torch.tensor([2]), 3))
    assert math.isclose(unigram_cross_entropy(unseen, torch.tensor([2]), 3, smoothing=1.0), math.log(6))
