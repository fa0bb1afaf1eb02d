"""The adding problem, tokens and padded batches, and the cell wrappers that train hand-written cells."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nlpcourse.cell_models import CellLanguageModel, CellRegressor, hidden_of, initial_state, is_lstm, unroll
from nlpcourse.charlm import evaluate
from nlpcourse.sequence_tasks import (
    ADDING_BASELINE_MSE,
    TokenVocabulary,
    adding_problem,
    collate_padded,
    fit_adding,
    pad_batch,
    tokenize,
)

CPU = torch.device("cpu")


def test_adding_problem_marks_one_step_in_each_half_and_sums_them() -> None:
    inputs, targets = adding_problem(500, 10, torch.Generator().manual_seed(0))
    assert inputs.shape == (500, 10, 2) and targets.shape == (500,)
    markers = inputs[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :5].sum(1) == 1) and torch.all(markers[:, 5:].sum(1) == 1)
    assert torch.allclose((inputs[..., 0] * markers).sum(1), targets)
    big = adding_problem(100_000, 4, torch.Generator().manual_seed(1))[1]
    assert math.isclose(float(((big - 1.0) ** 2).mean()), ADDING_BASELINE_MSE, rel_tol=0.02)
    with pytest.raises(ValueError, match="at least 2"):
        adding_problem(3, 1)


def test_fit_adding_learns_short_sequences_with_a_gru_and_is_reproducible() -> None:
    def run() -> list[float]:
        torch.manual_seed(0)
        test = adding_problem(300, 5, torch.Generator().manual_seed(1))
        return fit_adding(CellRegressor(nn.GRUCell(2, 16)), length=5, steps=300, test_set=test, device=CPU,
                          learning_rate=1e-2, eval_every=100, progress=False).test_mse

    curve = run()
    assert len(curve) == 3 and curve[-1] < 0.02 < ADDING_BASELINE_MSE
    assert run() == curve


def test_tokens_vocabulary_and_padding() -> None:
    assert tokenize("It's a GREAT film, isn't it?") == ["it's", "a", "great", "film", ",", "isn't", "it", "?"]
    vocabulary = TokenVocabulary.build([["a", "b", "a"], ["b", "c"]], min_count=2)
    assert vocabulary.words == ("<pad>", "<unk>", "a", "b")
    assert vocabulary.encode(["b", "zzz", "a"]).tolist() == [3, 1, 2]
    ids, lengths, labels = collate_padded([(torch.tensor([4, 5, 6]), 1), (torch.tensor([7]), 0)])
    assert ids.tolist() == [[4, 5, 6], [7, 0, 0]] and lengths.tolist() == [3, 1] and labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="at least one token"):
        pad_batch([torch.tensor([1]), torch.tensor([], dtype=torch.long)])


@pytest.mark.parametrize("cell", [nn.RNNCell(3, 4), nn.GRUCell(3, 4), nn.LSTMCell(3, 4)])
def test_unroll_equals_the_fused_module(cell: nn.Module) -> None:
    fused = {nn.RNNCell: nn.RNN, nn.GRUCell: nn.GRU, nn.LSTMCell: nn.LSTM}[type(cell)](3, 4, batch_first=True)
    with torch.no_grad():
        for name, param in cell.named_parameters():
            getattr(fused, name + "_l0").copy_(param)
    inputs = torch.randn(2, 5, 3)
    outputs, state = unroll(cell, inputs)
    expected, final = fused(inputs)
    assert torch.allclose(outputs, expected, atol=1e-6)
    assert torch.allclose(hidden_of(state), hidden_of(final)[0], atol=1e-6)
    assert is_lstm(cell) == isinstance(cell, nn.LSTMCell)
    assert isinstance(initial_state(cell, 2, inputs), tuple) == is_lstm(cell)


def test_cell_language_model_works_with_the_charlm_tools() -> None:
    torch.manual_seed(0)
    model = CellLanguageModel(nn.LSTMCell(4, 6), vocab_size=5, embedding_dim=4)
    streams = torch.randint(0, 5, (2, 30))
    logits, (h, c) = model(streams[:, :7])
    assert logits.shape == (2, 7, 5) and h.shape == c.shape == (2, 6)
    assert 0 < evaluate(model, streams, 10, CPU) < 3
