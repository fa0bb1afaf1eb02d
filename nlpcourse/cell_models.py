"""Models built around any recurrent *cell*, so that hand-written cells and ``nn.*Cell`` train the same way.

A cell is called as ``cell(x, state) -> state`` with ``x`` of shape ``(B, D)``. Its state is a tensor
``h`` of shape ``(B, H)`` (RNN, GRU) or a pair ``(h, c)`` (LSTM); ``cell.hidden_size`` gives ``H``.
:func:`unroll` runs a cell over a batch-first sequence; the wrappers add an input and an output layer.
"""

from __future__ import annotations

import torch
from torch import nn


def initial_state(cell: nn.Module, batch_size: int, like: torch.Tensor):
    """Zeros in the shape of ``cell``'s state: ``(B, H)``, or a pair of them for an LSTM cell."""
    h = like.new_zeros(batch_size, cell.hidden_size)
    return (h, h.clone()) if is_lstm(cell) else h


def is_lstm(cell: nn.Module) -> bool:
    """Whether the cell carries an (h, c) pair: ``nn.LSTMCell`` or any cell whose class name says LSTM."""
    return isinstance(cell, nn.LSTMCell) or "lstm" in type(cell).__name__.lower()


def hidden_of(state) -> torch.Tensor:
    """The hidden state ``h`` ``(B, H)`` of a state that may be an LSTM's ``(h, c)`` pair."""
    return state[0] if isinstance(state, tuple) else state


def unroll(cell: nn.Module, inputs: torch.Tensor, state=None):
    """Run ``cell`` over ``inputs`` ``(B, T, D)`` from ``state`` (zeros when ``None``).

    Returns the hidden state after every step, ``(B, T, H)``, and the final state.
    """
    if state is None:
        state = initial_state(cell, inputs.size(0), inputs)
    outputs = []
    for step in inputs.unbind(1):  # cheaper backward than inputs[:, t], which builds a (B, T, D) zero tensor per step
        state = cell(step, state)
        outputs.append(hidden_of(state))
    return torch.stack(outputs, dim=1), state


class CellRegressor(nn.Module):
    """Reads a sequence ``(B, T, D)`` with ``cell`` and maps the last hidden state to one number, ``(B,)``."""

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell
        self.readout = nn.Linear(cell.hidden_size, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        _, state = unroll(self.cell, inputs)
        return self.readout(hidden_of(state)).squeeze(-1)


class CellLanguageModel(nn.Module):
    """Embedding -> ``cell`` unrolled over time -> linear read-out; the interface of ``nlpcourse.charlm``.

    ``forward(inputs (B, T), state) -> (logits (B, T, V), state)``, so ``charlm.fit_tbptt``,
    ``charlm.evaluate`` and ``charlm.sample`` work with any cell.
    """

    def __init__(self, cell: nn.Module, vocab_size: int, embedding_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.cell = cell
        self.readout = nn.Linear(cell.hidden_size, vocab_size)

    def forward(self, inputs: torch.Tensor, state=None):
        hidden, state = unroll(self.cell, self.embedding(inputs), state)
        return self.readout(hidden), state
