"""Running the same experiment for several recurrent cells (tanh RNN, GRU, LSTM) and comparing them.

Topic 4 puts the gated cells next to the vanilla RNN on the same tasks, from the same seed:

* :class:`RecurrentRegressor` reads a sequence with ``nn.RNN``/``nn.GRU``/``nn.LSTM`` and maps the last
  hidden state to one number (the adding problem of :mod:`nlpcourse.sequence_tasks`);
  :func:`train_adding_models` trains several of them with :func:`~nlpcourse.sequence_tasks.fit_adding`.
* :func:`gradient_norms_through_time` measures ``||dL/dh_k||`` at every step of such a regressor, and
  :func:`gate_activations` recomputes the gates of a trained ``nn.GRU``/``nn.LSTM`` at every step.
* :func:`train_char_models` trains several character language models (:mod:`nlpcourse.charlm`) with
  truncated BPTT and records the validation loss before training too, so curves start at step 0.
* :class:`BidirectionalCharModel` is a bidirectional recurrent network trained, wrongly, to predict the
  next character: its backward half has already read that character. :func:`loss_by_position` shows
  where the leak is (every position of a chunk but the last).
* :func:`first_below`, :func:`format_table` and two plots turn the runs into tables and figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from torch import nn
from torch.nn import functional as F

from nlpcourse.charlm import LanguageModelHistory, chunks, evaluate, fit_tbptt, set_forget_bias
from nlpcourse.gradient_flow import hidden_gradient_norms, unroll_states
from nlpcourse.seeding import seed_everything
from nlpcourse.sequence_tasks import ADDING_BASELINE_MSE, AddingHistory, fit_adding

__all__ = [
    "RECURRENT", "AddingRun", "BidirectionalCharModel", "CharRun", "RecurrentRegressor", "first_below",
    "format_table", "gate_activations", "gradient_norms_through_time", "loss_by_position", "plot_adding_histories",
    "plot_validation_curves", "set_forget_bias", "train_adding_models", "train_char_models",
]

RECURRENT = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentRegressor(nn.Module):
    """``nn.RNN``/``nn.GRU``/``nn.LSTM`` over ``(B, T, D)`` inputs, a linear read-out of the last hidden state.

    ``forward(inputs (B, T, D)) -> (B,)``. The recurrent module is ``self.recurrent`` (``batch_first``),
    so :func:`nlpcourse.gradient_flow.unroll_states` can step it one time slice at a time.
    """

    def __init__(self, cell: str, hidden_size: int, *, input_size: int = 2, forget_bias: float | None = None) -> None:
        super().__init__()
        if cell not in RECURRENT:
            raise ValueError(f"cell must be one of {', '.join(RECURRENT)}, not {cell!r}")
        self.cell = cell
        self.recurrent = RECURRENT[cell](input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, 1)
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError("forget_bias applies to the LSTM only")
            set_forget_bias(self.recurrent, forget_bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.recurrent(inputs)                  # (B, T, H)
        return self.readout(hidden[:, -1]).squeeze(-1)     # (B,)


def gradient_norms_through_time(
    model: RecurrentRegressor,
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """``||dL/dh_k||`` for ``k = 1..T`` in a :class:`RecurrentRegressor`, averaged over the batch.

    Args:
        model: the regressor; its recurrent module is stepped one slice at a time
            (:func:`~nlpcourse.gradient_flow.unroll_states`), so the states are those the recurrence
            passes on.
        inputs: ``(B, T, D)``.
        targets: ``(B,)``; then ``L`` is the summed squared error of the read-out of ``h_T``. With
            ``None``, ``L = sum(h_T) / sqrt(H)`` per sequence, which gives ``||dL/dh_T|| = 1``.

    Returns:
        ``(T,)`` float64 tensor on the CPU, entry ``k - 1`` for ``h_k`` (the last entry is ``h_T``).
    """
    loss = None
    if targets is not None:
        def loss(h_last: torch.Tensor) -> torch.Tensor:  # h_last: (num_layers, B, H)
            return F.mse_loss(model.readout(h_last[-1]).squeeze(-1), targets, reduction="sum")
    return hidden_gradient_norms(lambda x: unroll_states(model.recurrent, x), inputs, loss=loss)


@torch.no_grad()
def gate_activations(recurrent: nn.GRU | nn.LSTM, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gate values of a one-layer, one-direction, ``batch_first`` ``nn.GRU`` or ``nn.LSTM`` at every step.

    The module runs on ``inputs`` ``(B, T, D)`` once; the gates at step ``t`` are then recomputed from
    its weights, ``x_t`` and ``h_{t-1}`` (zeros before the first step), with PyTorch's equations:

    * GRU: ``r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)``, ``z_t`` likewise, and
      ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}``: ``z_t`` near 1 keeps the old state.
    * LSTM: ``i_t, f_t, o_t = sigma(W_i* x_t + W_h* h_{t-1} + b_*)``, ``c_t = f_t * c_{t-1} + i_t * g_t``.

    Returns:
        ``{"r", "z"}`` (GRU) or ``{"i", "f", "o"}`` (LSTM), each ``(B, T, H)`` with values in (0, 1).
    """
    if recurrent.num_layers != 1 or recurrent.bidirectional or not recurrent.batch_first:
        raise ValueError("gate_activations needs a one-layer, one-direction, batch_first GRU or LSTM")
    if not isinstance(recurrent, (nn.GRU, nn.LSTM)):
        raise TypeError(f"gate_activations needs an nn.GRU or nn.LSTM, not {type(recurrent).__name__}")
    hidden, _ = recurrent(inputs)                                     # (B, T, H)
    previous = torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], dim=1)  # h_{t-1}; (B, T, H)
    from_input = inputs @ recurrent.weight_ih_l0.T + recurrent.bias_ih_l0             # (B, T, kH)
    from_state = previous @ recurrent.weight_hh_l0.T + recurrent.bias_hh_l0           # (B, T, kH)
    if isinstance(recurrent, nn.GRU):
        r, z, _ = (from_input + from_state).chunk(3, dim=-1)         # n uses r * (W_hn h + b_hn): not needed
        return {"r": torch.sigmoid(r), "z": torch.sigmoid(z)}
    i, f, _, o = (from_input + from_state).chunk(4, dim=-1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "o": torch.sigmoid(o)}


@dataclass
class AddingRun:
    """A trained model and its test-MSE history on the adding problem."""

    model: nn.Module
    history: AddingHistory


def train_adding_models(
    builders: Mapping[str, Callable[[], nn.Module]],
    *,
    seed: int,
    **fit_options: Any,
) -> dict[str, AddingRun]:
    """Build and train each model of ``builders`` (``{label: () -> model}``) on the adding problem.

    Before each build everything is seeded with ``seed``, and every model is trained on the same
    stream of batches (``fit_adding(..., seed=seed)``): the models differ only in what the builder
    makes. ``fit_options`` go to :func:`~nlpcourse.sequence_tasks.fit_adding` (``length``, ``steps``,
    ``test_set``, ``device`` and optionally ``batch_size``, ``learning_rate``, ``max_norm``, ...).
    """
    runs = {}
    for label, build in builders.items():
        seed_everything(seed)
        model = build()
        history = fit_adding(model, seed=seed, desc=label, **fit_options)
        runs[label] = AddingRun(model, history)
    return runs


def first_below(history: AddingHistory, level: float) -> tuple[int, float] | None:
    """``(steps, seconds)`` at the first evaluation whose test MSE is below ``level``; ``None`` if none is."""
    for step, mse, seconds in zip(history.steps, history.test_mse, history.seconds):
        if mse < level:
            return step, seconds
    return None


@dataclass
class CharRun:
    """A trained character model: validation loss before training, and the per-epoch history."""

    model: nn.Module
    initial_valid: float
    history: LanguageModelHistory

    @property
    def valid_curve(self) -> tuple[list[float], list[int], list[float]]:
        """``(seconds, epochs, validation losses)``, each of length ``epochs + 1``, starting at ``(0, 0, initial)``."""
        return ([0.0, *self.history.seconds], list(range(len(self.history.valid_losses) + 1)),
                [self.initial_valid, *self.history.valid_losses])


def train_char_models(
    builders: Mapping[str, Callable[[], nn.Module]],
    train_streams: torch.Tensor,
    valid_streams: torch.Tensor,
    *,
    seq_len: int,
    epochs: int,
    device: torch.device,
    seed: int,
    learning_rate: float = 2e-3,
    max_norm: float | None = 1.0,
) -> dict[str, CharRun]:
    """Train each character model of ``builders`` (``{label: () -> model}``) with Adam and truncated BPTT.

    Args:
        builders: functions making models that follow the ``model(inputs (B, T), state) ->
            (logits (B, T, V), state)`` protocol of :mod:`nlpcourse.charlm`.
        train_streams, valid_streams: ``(B, L)`` and ``(B', L')`` id streams from ``charlm.batchify``.
        seq_len, epochs, device, max_norm: as in :func:`~nlpcourse.charlm.fit_tbptt`.
        seed: everything is seeded with it before each build.
        learning_rate: Adam's step size.

    ``history.seconds`` (from ``fit_tbptt``) is cumulative and includes the validation pass after
    each epoch; the validation before training is not counted.
    """
    runs = {}
    for label, build in builders.items():
        seed_everything(seed)
        model = build().to(device)
        initial = evaluate(model, valid_streams, seq_len, device)
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        history = fit_tbptt(model, train_streams, optimizer, seq_len=seq_len, epochs=epochs, device=device,
                            max_norm=max_norm, valid_streams=valid_streams, desc=label)
        runs[label] = CharRun(model, initial, history)
    return runs


class BidirectionalCharModel(nn.Module):
    """Embedding -> bidirectional ``nn.RNN``/``nn.GRU``/``nn.LSTM`` -> linear read-out of both directions.

    ``forward(inputs (B, T), state=None) -> (logits (B, T, V), None)``. The output at position ``t``
    reads ``[forward h_t ; backward h_t]`` ``(2H,)``; the backward half has read ``x_T, ..., x_t``, which
    includes ``x_{t+1}``, the very character a language model must predict at ``t``. The incoming
    state is ignored and ``None`` returned (both directions start every chunk from zeros), so the
    model fits :func:`~nlpcourse.charlm.fit_tbptt` and :func:`~nlpcourse.charlm.evaluate`.
    """

    def __init__(self, vocab_size: int, hidden_size: int, *, cell: str = "gru", embedding_dim: int = 64) -> None:
        super().__init__()
        if cell not in RECURRENT:
            raise ValueError(f"cell must be one of {', '.join(RECURRENT)}, not {cell!r}")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.recurrent = RECURRENT[cell](embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.readout = nn.Linear(2 * hidden_size, vocab_size)

    def forward(self, inputs: torch.Tensor, state=None):
        hidden, _ = self.recurrent(self.embedding(inputs))  # (B, T, 2H): forward and backward states
        return self.readout(hidden), None


@torch.no_grad()
def loss_by_position(model: nn.Module, streams: torch.Tensor, seq_len: int, device: torch.device) -> torch.Tensor:
    """Mean next-character cross-entropy (nats) at each position ``0..seq_len-1`` of the chunks of ``streams``.

    ``streams`` ``(B, L)`` is read in chunks of ``seq_len`` as in training (state carried); only full
    chunks count. For a model that peeks at the next input, the last position of a chunk is the only
    one whose target is not among the inputs.

    Returns:
        ``(seq_len,)`` float64 tensor on the CPU.
    """
    was_training = model.training
    model.eval()
    total = torch.zeros(seq_len, dtype=torch.float64)
    count, state = 0, None
    for inputs, targets in chunks(streams.to(device), seq_len):
        logits, state = model(inputs, state)
        if inputs.size(1) < seq_len:
            continue
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
        total += losses.sum(dim=0).double().cpu()
        count += inputs.size(0)
    model.train(was_training)
    if count == 0:
        raise ValueError(f"streams of length {streams.size(1)} hold no full chunk of {seq_len}")
    return total / count


def format_table(rows: Sequence[Mapping[str, Any]], formats: Mapping[str, str] | None = None) -> str:
    """Rows of ``{column: value}`` as an aligned text table (columns in the first row's order).

    ``formats`` maps a column to a format spec (``{"mse": ".4f"}``); ``None`` values print as ``-``.
    """
    if not rows:
        return ""
    formats = formats or {}
    columns = list(rows[0])

    def cell(row: Mapping[str, Any], column: str) -> str:
        value = row.get(column)
        return "-" if value is None else format(value, formats.get(column, ""))

    texts = [[cell(row, column) for column in columns] for row in rows]
    widths = [max(len(column), *(len(text[i]) for text in texts)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.rjust(width) for column, width in zip(columns, widths)),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(text.rjust(width) for text, width in zip(line, widths)) for line in texts]
    return "\n".join(lines)


def plot_adding_histories(
    histories: Mapping[str, AddingHistory],
    ax: Axes | None = None,
    *,
    x: str = "steps",
    baseline: float = ADDING_BASELINE_MSE,
    title: str | None = None,
) -> Axes:
    """Test MSE of each run against training steps (``x="steps"``) or seconds (``x="seconds"``), log y axis.

    A dashed line marks ``baseline``, the MSE of always answering the mean (1/6 on the adding problem).
    """
    if x not in ("steps", "seconds"):
        raise ValueError(f"x must be 'steps' or 'seconds', not {x!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, history in histories.items():
        ax.semilogy(getattr(history, x), history.test_mse, label=label)
    ax.axhline(baseline, color="gray", linestyle="--", linewidth=1, label=f"always answer the mean: {baseline:.3f}")
    ax.set_xlabel("training steps" if x == "steps" else "seconds of training")
    ax.set_ylabel("test MSE")
    if title is not None:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_validation_curves(
    runs: Mapping[str, CharRun],
    axes: Sequence[Axes] | None = None,
    *,
    ylabel: str = "validation cross-entropy (nats/char)",
    ylim: tuple[float, float] | None = None,
) -> Sequence[Axes]:
    """Validation loss of each run against seconds of training (left) and epochs (right), same colours.

    Each curve starts at the loss before training (0 s, epoch 0). The panels share the y axis;
    ``ylim`` zooms in on where the curves end (the first point then lies above the top).
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    ax_seconds, ax_epochs = axes
    for label, run in runs.items():
        seconds, epochs, losses = run.valid_curve
        (line,) = ax_seconds.plot(seconds, losses, marker="o", markersize=4, label=label)
        ax_epochs.plot(epochs, losses, marker="o", markersize=4, color=line.get_color(), label=label)
    ax_seconds.set_xlabel("seconds of training (with the validation passes)")
    ax_epochs.set_xlabel("epoch")
    ax_epochs.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_seconds.set_ylabel(ylabel)
    if ylim is not None:
        ax_seconds.set_ylim(*ylim)
        ax_epochs.set_ylim(*ylim)
    for ax in (ax_seconds, ax_epochs):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return axes
