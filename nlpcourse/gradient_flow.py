"""How gradients travel back through time in recurrent networks: measurements and plots.

Two measurements, both by autograd:

* :func:`jacobian_norms_autograd` gives ``||dh_T / dh_k||`` for every ``k`` in a vanilla recurrence
  ``h_t = f(W_hh h_{t-1} + u_t)`` with a recurrent matrix you choose (e.g. one made by
  :func:`matrix_with_spectral_radius`), the quantity the vanishing/exploding-gradient analysis bounds.
* :func:`hidden_gradient_norms` gives ``||dL / dh_k||`` for a loss ``L`` at the last step of *any*
  recurrent model, given a function returning the hidden states it actually fed from step to step
  (:func:`unroll_states` makes one for ``nn.RNN``/``nn.GRU``/``nn.LSTM``, their cells, and models
  following the ``model(inputs, state) -> (output, state)`` protocol of :mod:`nlpcourse.charlm`).

Every curve is indexed by the time step ``k`` (the last entry is ``k = T``); :func:`plot_gradient_norms`
draws curves against the distance ``T - k`` on a logarithmic axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from torch import nn

from nlpcourse.charlm import chunks, tbptt_step

__all__ = [
    "StepRecord", "fit_recording_gradients", "hidden_gradient_norms", "jacobian_norms_autograd",
    "matrix_with_spectral_radius", "orthogonal_matrix", "plot_gradient_norms", "spectral_radius",
    "unroll_states", "vanilla_rnn_states",
]

Activation = Callable[[torch.Tensor], torch.Tensor]


def spectral_radius(matrix: torch.Tensor | np.ndarray) -> float:
    """The largest absolute eigenvalue of a square matrix ``(n, n)``, a tensor or a numpy array."""
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().double().numpy()
    return float(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=np.float64))).max())


def matrix_with_spectral_radius(
    n: int,
    rho: float,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """A random ``(n, n)`` Gaussian matrix rescaled so that its spectral radius is exactly ``rho``.

    The entries are drawn ``N(0, 1/n)`` (spectral radius close to 1 for large ``n``, by the circular
    law), then the whole matrix is multiplied by ``rho / spectral_radius``. Such a matrix is not
    normal: its largest singular value is about twice its spectral radius, so ``||W^t||`` can grow
    for a while even when ``rho <= 1``.
    """
    if n < 1 or rho < 0:
        raise ValueError(f"need n >= 1 and rho >= 0, got n={n}, rho={rho}")
    matrix = torch.randn(n, n, generator=generator, dtype=torch.float64) / math.sqrt(n)
    return (matrix * (rho / spectral_radius(matrix))).to(dtype)


def orthogonal_matrix(
    n: int,
    generator: torch.Generator | None = None,
    *,
    gain: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """A random ``(n, n)`` orthogonal matrix ``Q`` (``Q^T Q = I``) times ``gain``.

    ``Q`` comes from the QR decomposition of a Gaussian matrix, with the signs of ``R``'s diagonal
    moved into ``Q`` so that ``Q`` is uniformly distributed (as in ``torch.nn.init.orthogonal_``).
    Every eigenvalue and every singular value of ``gain * Q`` has absolute value ``gain``, so
    ``||(gain Q)^t||_2 = gain^t`` exactly.
    """
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # column j times sign(R_jj)
    return (gain * q).to(dtype)


def vanilla_rnn_states(
    W_hh: torch.Tensor,
    drive: torch.Tensor,
    h0: torch.Tensor,
    activation: Activation = torch.tanh,
) -> list[torch.Tensor]:
    """The states ``[h_0, h_1, ..., h_T]`` of ``h_t = f(W_hh h_{t-1} + u_t)``, each ``(H,)``.

    Args:
        W_hh: recurrent matrix, ``(H, H)``.
        drive: ``u_t = W_xh x_t + b`` for ``t = 1..T``, ``(T, H)``: what the inputs add before the activation.
        h0: initial state, ``(H,)``; returned as the first element unchanged (same tensor object).
        activation: ``f``, applied elementwise (``torch.tanh``, ``torch.sigmoid``, ``lambda a: a``, ...).
    """
    states = [h0]
    for u_t in drive:
        states.append(activation(W_hh @ states[-1] + u_t))  # (H,)
    return states


def jacobian_norms_autograd(
    W_hh: torch.Tensor,
    steps: int,
    activation: Activation = torch.tanh,
    *,
    drive: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
    ord: int | float | str = 2,
) -> torch.Tensor:
    """``||dh_T / dh_k||`` for ``k = 0..T`` in ``h_t = f(W_hh h_{t-1} + u_t)``, computed by autograd.

    The recurrence runs forward once; then row ``i`` of every Jacobian ``dh_T / dh_k`` (all ``k``
    at once) is the gradient of the scalar ``h_T[i]`` with respect to the stored states, one
    backward pass per row: ``H`` passes in all. No Jacobian of a single step is written down, so
    this is an independent check of the product formula
    ``dh_T/dh_k = prod_{j=k+1..T} diag(f'(a_j)) W_hh``.

    Args:
        W_hh: recurrent matrix, ``(H, H)``.
        steps: ``T``, the number of steps.
        activation: ``f``; the Jacobians depend on the states only through ``f'``.
        drive: ``u_t`` for ``t = 1..T``, ``(T, H)``; zeros when ``None``.
        h0: initial state ``(H,)``; zeros when ``None``.
        ord: matrix norm for ``torch.linalg.matrix_norm``: ``2`` (largest singular value) or ``"fro"``.

    Returns:
        ``(T + 1,)`` float64 tensor; entry ``k`` is ``||dh_T / dh_k||`` (entry ``T`` is ``||I||``).
    """
    W_hh = W_hh.detach().double()
    size = W_hh.shape[0]
    if W_hh.shape != (size, size):
        raise ValueError(f"W_hh must be square, got shape {tuple(W_hh.shape)}")
    drive = torch.zeros(steps, size, dtype=torch.float64) if drive is None else drive.detach().double()
    if drive.shape != (steps, size):
        raise ValueError(f"drive must have shape ({steps}, {size}), got {tuple(drive.shape)}")
    h0 = torch.zeros(size, dtype=torch.float64) if h0 is None else h0.detach().double().clone()
    states = vanilla_rnn_states(W_hh, drive, h0.requires_grad_(True), activation)  # T + 1 states, (H,)
    rows = []
    for i in range(size):
        grads = torch.autograd.grad(states[-1][i], states, retain_graph=True, allow_unused=True)
        rows.append(torch.stack([torch.zeros(size, dtype=torch.float64) if g is None else g for g in grads]))
    jacobians = torch.stack(rows, dim=1)  # (T + 1, H, H): jacobians[k] = dh_T / dh_k
    return torch.linalg.matrix_norm(jacobians, ord=ord)


def unroll_states(
    model: nn.Module | Callable,
    inputs: torch.Tensor,
    state: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
    *,
    part: int = 0,
) -> list[torch.Tensor]:
    """Run a recurrent model one step at a time and return the hidden state it carries after each step.

    ``nn.RNN``/``nn.GRU``/``nn.LSTM`` process a whole sequence in one fused call; the hidden states
    they *output* are copies, not the tensors the recurrence passes on, so a gradient taken with
    respect to them misses every path through later steps. Stepping one time slice at a time and
    keeping the state that is fed to the next step exposes the real chain ``h_1 -> h_2 -> ...``.

    Args:
        model: an ``nn.RNNCell``/``nn.GRUCell``/``nn.LSTMCell`` (called as ``cell(x_t, state) -> state``),
            or anything called as ``model(chunk, state) -> (output, state)``: ``nn.RNN``/``nn.GRU``/
            ``nn.LSTM`` and the character models of :mod:`nlpcourse.charlm`.
        inputs: ``(B, T, D)`` features or ``(B, T)`` ids (``(T, B, D)`` for an ``nn.RNN``-family module
            with ``batch_first=False``).
        state: the initial state, ``None`` for zeros.
        part: for a tuple state (LSTM: ``(h, c)``), which element to return: ``0`` for ``h``, ``1`` for ``c``.

    Returns:
        ``T`` tensors, the state after steps ``1..T``: ``(B, H)`` for a cell, ``(num_layers, B, H)``
        for an ``nn.RNN``-family module.
    """
    is_cell = isinstance(model, nn.RNNCellBase)
    time_dim = 0 if isinstance(model, nn.RNNBase) and not model.batch_first else 1
    states = []
    for t in range(inputs.size(time_dim)):
        if is_cell:
            state = model(inputs.select(time_dim, t), state)
        else:
            state = model(inputs.narrow(time_dim, t, 1), state)[1]
        states.append(state[part] if isinstance(state, tuple) else state)
    return states


def hidden_gradient_norms(
    hidden_states: Callable[[torch.Tensor], Sequence[torch.Tensor]],
    inputs: torch.Tensor,
    loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``||dL / dh_k||`` for every step ``k`` of a recurrent model, for a loss ``L`` on the last state.

    Args:
        hidden_states: maps ``inputs`` to the list ``[h_1, ..., h_T]`` of the states the model passes
            from step to step, each ``(..., H)`` (e.g. ``lambda x: unroll_states(rnn, x)``). They must
            be the tensors of the recurrence itself, not a stacked copy (see :func:`unroll_states`).
        inputs: whatever ``hidden_states`` takes; a floating-point tensor is detached and made to
            require grad, so that states depend on it even when no parameter does.
        loss: maps the last state ``h_T`` to a scalar. The default
            ``L = sum(h_T) / sqrt(H)`` has ``||dL/dh_T|| = 1`` for every sequence of the batch, so the
            curve starts at 1 and shows how the gradient shrinks or grows going back.

    Returns:
        ``(T,)`` float64 tensor on the CPU; entry ``k - 1`` is the norm of ``dL/dh_k`` over the last
        dimension, averaged over all leading dimensions (batch, layers). A state that ``L`` does not
        depend on gets 0.
    """
    if inputs.is_floating_point():  # a recurrence without parameters (a fixed W_hh) still gets a graph
        inputs = inputs.detach().requires_grad_(True)
    states = list(hidden_states(inputs))
    if not states:
        raise ValueError("hidden_states returned no states")
    last = states[-1]
    value = last.sum() / math.sqrt(last.size(-1)) if loss is None else loss(last)
    grads = torch.autograd.grad(value, states, allow_unused=True)
    return torch.tensor([0.0 if g is None else float(g.detach().double().norm(dim=-1).mean()) for g in grads],
                        dtype=torch.float64)


@dataclass
class StepRecord:
    """Per update: the training loss of the chunk (nats/char) and the global gradient norm before clipping."""

    losses: list[float] = field(default_factory=list)
    gradient_norms: list[float] = field(default_factory=list)


def fit_recording_gradients(
    model: nn.Module,
    train_streams: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    seq_len: int,
    steps: int,
    device: torch.device,
    max_norm: float | None = None,
) -> StepRecord:
    """Truncated-BPTT training for ``steps`` updates, recording the loss and gradient norm of each one.

    The same loop as :func:`nlpcourse.charlm.fit_tbptt` (chunks of ``seq_len`` columns of
    ``train_streams`` ``(B, L)``, state carried and detached), but it counts updates instead of
    epochs (starting the streams again from a zero state when they run out) and records every
    step. The norm recorded is ``||g||`` of all parameters' gradients together *before* clipping to
    ``max_norm`` (``None``: no clipping). Training stops early, after recording it, at the first
    loss or gradient norm that is not finite.
    """
    model.to(device).train()
    streams = train_streams.to(device)
    record = StepRecord()
    while len(record.losses) < steps:
        state = None
        for inputs, targets in chunks(streams, seq_len):
            loss, norm, state = tbptt_step(model, inputs, targets, state, optimizer, max_norm,
                                           step_when_finite_only=True)
            record.losses.append(loss)
            record.gradient_norms.append(norm)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                return record
            if len(record.losses) == steps:
                break
    return record


def plot_gradient_norms(
    curves: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    *,
    ylabel: str = r"$\|\partial h_T / \partial h_k\|$",
    title: str | None = None,
    references: Mapping[str, float] | None = None,
) -> Axes:
    """Gradient norms against the number of steps back, ``T - k``, on a logarithmic y axis.

    Args:
        curves: ``{legend label: norms of shape (T + 1,) or (T,)}`` indexed by time step ``k``, the
            last entry being ``k = T`` (as returned by :func:`jacobian_norms_autograd` and
            :func:`hidden_gradient_norms`); each is drawn at ``x = T - k = len - 1 - index``.
            Zeros (below the smallest float) are left out of the log plot.
        ax: where to draw; a new figure when ``None``.
        ylabel, title: axis label and title.
        references: ``{legend label: rate r}`` draws the dashed line ``r^(T - k)`` for each, in the
            colour of the curve with the same position in ``curves`` (the bound or rate to compare with).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    colours = {}
    longest = 1
    for index, (label, norms) in enumerate(curves.items()):
        norms = np.asarray(norms, dtype=float)
        distance = np.arange(len(norms))[::-1]  # T - k for k = 0..T
        shown = np.where(norms > 0, norms, np.nan)
        (line,) = ax.semilogy(distance, shown, label=label)
        colours[index] = line.get_color()
        longest = max(longest, len(norms))
    for index, (label, rate) in enumerate((references or {}).items()):
        distance = np.arange(longest)
        ax.semilogy(distance, float(rate) ** distance, "--", linewidth=1, color=colours.get(index, "gray"),
                    label=label)
    ax.set_xlabel("steps back, $T - k$")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return ax
