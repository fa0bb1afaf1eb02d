"""A vanilla (Elman) recurrent network written as a loop, to set next to the maths and next to ``torch.nn.RNN``.

One step is ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)``. The weights keep the orientation of the
maths and of ``nn.RNN`` (``W_xh`` is ``(H, X)`` like ``weight_ih_l0``, ``W_hh`` is ``(H, H)`` like
``weight_hh_l0``). Sequences are time-major, ``(T, ..., X)``, as in ``nn.RNN`` with the default
``batch_first=False``: the leading axis is time and any axes between time and features are batch
axes (none for a single sequence).

The module also draws the five input/output patterns of recurrent networks (one-to-one ... many-to-many).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

__all__ = [
    "RNN_PATTERNS", "RNNPattern", "RNNWeights", "deep_rnn_forward", "draw_rnn_patterns", "rnn_forward", "rnn_step",
    "weights_of",
]


def rnn_step(x_t: torch.Tensor, h_prev: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor,
             b: torch.Tensor) -> torch.Tensor:
    """One step of the recurrence, ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)``.

    Args:
        x_t: the input at step ``t``, shape ``(..., X)``: ``(X,)`` for one sequence, ``(B, X)`` for a batch.
        h_prev: the previous hidden state ``h_{t-1}``, shape ``(..., H)``.
        W_xh: input-to-hidden weights, ``(H, X)``.
        W_hh: hidden-to-hidden weights, ``(H, H)``.
        b: bias, ``(H,)``.

    Returns:
        ``h_t``, shape ``(..., H)``.
    """
    # A batch stores one vector per row, so W v for each row v is (rows) @ W.T; for a 1-D v it is W @ v.
    return torch.tanh(h_prev @ W_hh.T + x_t @ W_xh.T + b)


def rnn_forward(inputs: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b: torch.Tensor,
                h0: torch.Tensor | None = None) -> torch.Tensor:
    """Unroll :func:`rnn_step` over a sequence with the same weights at every step.

    Args:
        inputs: ``x_1 .. x_T``, shape ``(T, ..., X)`` (time first).
        W_xh, W_hh, b: the weights, ``(H, X)``, ``(H, H)`` and ``(H,)``.
        h0: the state before the first step, ``(..., H)``; zeros when ``None``.

    Returns:
        The hidden states ``h_1 .. h_T`` stacked, shape ``(T, ..., H)``; the last one, ``[-1]``, is
        the final state.
    """
    if inputs.size(0) == 0:
        raise ValueError("the sequence is empty: an RNN needs at least one step")
    h = inputs.new_zeros(inputs.shape[1:-1] + (W_hh.size(0),)) if h0 is None else h0  # h_0: (..., H)
    hidden_states = []
    for x_t in inputs:  # x_t: (..., X); the loop body is the same function with the same weights every time
        h = rnn_step(x_t, h, W_xh, W_hh, b)
        hidden_states.append(h)
    return torch.stack(hidden_states)


@dataclass(frozen=True)
class RNNWeights:
    """The weights of one layer in one direction: ``W_xh`` ``(H, X)``, ``W_hh`` ``(H, H)``, ``b`` ``(H,)``."""

    W_xh: torch.Tensor
    W_hh: torch.Tensor
    b: torch.Tensor


def weights_of(rnn: nn.RNN) -> list[list[RNNWeights]]:
    """The weights of an ``nn.RNN`` as ``weights[layer][direction]`` (direction 0 forward, 1 backward).

    PyTorch keeps two bias vectors, ``bias_ih`` and ``bias_hh``; they are only ever added, so
    ``b = bias_ih + bias_hh``. The tensors are detached copies: changing them leaves ``rnn`` alone.
    """
    if rnn.nonlinearity != "tanh":
        raise ValueError(f"rnn_step uses tanh; this nn.RNN uses {rnn.nonlinearity!r}")
    parameters = dict(rnn.named_parameters())
    layers = []
    for layer in range(rnn.num_layers):
        directions = []
        for suffix in ["", "_reverse"][: 2 if rnn.bidirectional else 1]:
            name = f"l{layer}{suffix}"
            W_xh = parameters[f"weight_ih_{name}"].detach().clone()  # (H, X) in layer 0, (H, D*H) above it
            W_hh = parameters[f"weight_hh_{name}"].detach().clone()  # (H, H)
            if rnn.bias:
                b = (parameters[f"bias_ih_{name}"] + parameters[f"bias_hh_{name}"]).detach()
            else:
                b = W_hh.new_zeros(W_hh.size(0))
            directions.append(RNNWeights(W_xh, W_hh, b))
        layers.append(directions)
    return layers


def deep_rnn_forward(inputs: torch.Tensor,
                     weights: Sequence[Sequence[RNNWeights]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A stacked and possibly bidirectional RNN, layer by layer, from zero initial states.

    Layer ``l`` reads the hidden states of layer ``l - 1`` (layer 0 reads ``inputs``). A second
    direction reads its layer's input from ``t = T`` down to ``t = 1``; its state at ``t`` has seen
    ``x_t .. x_T``. The two directions' states at each step are concatenated, ``[h_fwd_t ; h_bwd_t]``.

    Args:
        inputs: ``(T, ..., X)``.
        weights: ``weights[layer][direction]``, one or two directions per layer (as :func:`weights_of` gives).

    Returns:
        ``outputs``: the last layer's states at every step, ``(T, ..., D*H)``, and ``final``: every
        layer's and direction's final state, ``(L*D, ..., H)`` in the order layer 0 forward, layer 0
        backward, layer 1 forward, ... (the outputs and ``h_n`` of ``nn.RNN`` with ``batch_first=False``).
    """
    layer_input = inputs  # (T, ..., X), then (T, ..., D*H)
    finals = []
    for directions in weights:
        if len(directions) not in (1, 2):
            raise ValueError(f"a layer has one direction or two, not {len(directions)}")
        forward = rnn_forward(layer_input, directions[0].W_xh, directions[0].W_hh, directions[0].b)  # (T, ..., H)
        states = [forward]
        finals.append(forward[-1])  # after reading x_T
        if len(directions) == 2:
            backward = rnn_forward(layer_input.flip(0), directions[1].W_xh, directions[1].W_hh, directions[1].b)
            backward = backward.flip(0)  # back in time order: backward[t] has read x_T .. x_t
            states.append(backward)
            finals.append(backward[0])  # after reading x_1, its last step
        layer_input = torch.cat(states, dim=-1)  # (T, ..., D*H)
    return layer_input, torch.stack(finals)


@dataclass(frozen=True)
class RNNPattern:
    """Which steps of an unrolled RNN take an input and which give an output, with an example task."""

    name: str
    example: str
    inputs: tuple[bool, ...]
    outputs: tuple[bool, ...]


RNN_PATTERNS = (
    RNNPattern("one to one", "image classification\n(no recurrence)", (True,), (True,)),
    RNNPattern("one to many", "image captioning:\nimage -> words", (True, False, False), (True, True, True)),
    RNNPattern("many to one", "sentiment:\nwords -> label", (True, True, True), (False, False, True)),
    RNNPattern("many to many\n(encoder-decoder)", "translation:\nwords -> words",
               (True, True, True, False, False), (False, False, False, True, True)),
    RNNPattern("many to many\n(synced)", "video classification\nper frame",
               (True, True, True), (True, True, True)),
)


def draw_rnn_patterns(patterns: Sequence[RNNPattern] = RNN_PATTERNS, ax: Axes | None = None) -> Axes:
    """Draw each pattern as an unrolled RNN, side by side: inputs (red) below, hidden states (green)
    joined left to right, outputs (blue) above.

    One box is drawn per input, per step (hidden state) and per output, so the Axes holds
    ``sum(inputs) + steps + sum(outputs)`` box patches per pattern.
    """
    gap, size = 1.2, 0.6  # columns are 1 apart, patterns `gap` apart; boxes are `size` wide
    width = sum(len(p.inputs) for p in patterns) + gap * (len(patterns) - 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * width + 1.5, 3.6))
    colours = {0: "#f4a6a6", 1: "#9bd39b", 2: "#9cc3ec"}  # input row, hidden row, output row

    def box(x: float, row: int) -> None:
        ax.add_patch(FancyBboxPatch((x - size / 2, row - size / 2), size, size, boxstyle="round,pad=0.02",
                                    facecolor=colours[row], edgecolor="black", linewidth=1))

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, linewidth=1, color="black"))

    for row, label in enumerate(["input $x_t$", "hidden $h_t$", "output $y_t$"]):
        ax.text(-0.5, row, label, ha="right", va="center", fontsize=9, color="dimgray")
    left = 0.0
    for pattern in patterns:
        if len(pattern.inputs) != len(pattern.outputs):
            raise ValueError(f"{pattern.name!r}: inputs and outputs must mark the same number of steps")
        for t, (has_input, has_output) in enumerate(zip(pattern.inputs, pattern.outputs)):
            x = left + t
            box(x, 1)
            if has_input:
                box(x, 0)
                arrow((x, size / 2), (x, 1 - size / 2))
            if has_output:
                box(x, 2)
                arrow((x, 1 + size / 2), (x, 2 - size / 2))
            if t > 0:
                arrow((x - 1 + size / 2, 1), (x - size / 2, 1))
        middle = left + (len(pattern.inputs) - 1) / 2
        ax.text(middle, 2.55, pattern.name, ha="center", va="bottom", fontsize=9, fontweight="bold")
        ax.text(middle, -0.55, pattern.example, ha="center", va="top", fontsize=8)
        left += len(pattern.inputs) + gap
    ax.set_xlim(-2.0, width - 0.2)
    ax.set_ylim(-1.4, 3.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
