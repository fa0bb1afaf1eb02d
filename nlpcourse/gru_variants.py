"""Gated recurrent cells written out gate by gate, in PyTorch's parameter layout, and gradients through them.

* :class:`GRUVariantCell`: the GRU in each of the forms found in textbooks. ``update="keep"`` is
  ``h' = z * h + (1 - z) * n`` (Cho et al. 2014, ``nn.GRU``, Keras), ``update="write"`` is
  ``h' = (1 - z) * h + z * n`` (Chung et al. 2014); ``reset="after"`` scales ``W_hn h + b_hn`` by ``r``
  after the product (``nn.GRU``, cuDNN), ``reset="before"`` scales ``h`` before it (Cho et al. 2014).
  :func:`relabel_update_gate` turns one update convention into the other without changing the function.
* :class:`LSTMGateCell`: the LSTM step of ``nn.LSTMCell`` (gate order ``i, f, g, o``), with its gates exposed.
* :func:`gate_trajectory` records every gate of either cell along a batch of sequences.
* :func:`jacobian_norms` and :func:`cell_jacobian_norms` measure ``||ds_T / ds_k||`` along any recurrence
  by autograd (for an LSTM, ``s`` may be ``h`` or the cell state ``c``).
* :func:`max_difference` is the number the lectures report when they compare two implementations.

Both cells hold the four tensors of the ``torch.nn`` cells, stacked by gate along the rows:
``weight_ih`` ``(G H, D)``, ``weight_hh`` ``(G H, H)``, ``bias_ih`` and ``bias_hh`` ``(G H,)`` with ``G = 3``
(GRU: ``r, z, n``) or ``G = 4`` (LSTM: ``i, f, g, o``). Weights copy in and out of ``nn.GRUCell``,
``nn.GRU``, ``nn.LSTMCell`` and ``nn.LSTM`` with :meth:`from_module`. Both follow the cell protocol
of :mod:`nlpcourse.cell_models` (``cell(x, state) -> state``, ``cell.hidden_size``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import nn

from nlpcourse.cell_models import initial_state

__all__ = [
    "GRUGates", "GRUVariantCell", "LSTMGateCell", "LSTMGates", "cell_jacobian_norms", "gate_trajectory",
    "jacobian_norms", "max_difference", "relabel_update_gate",
]

Reset = Literal["after", "before"]
Update = Literal["keep", "write"]


def max_difference(a: torch.Tensor | Sequence[torch.Tensor], b: torch.Tensor | Sequence[torch.Tensor]) -> float:
    """``max |a - b|`` over every entry, as a Python float; no gradient is kept.

    ``a`` and ``b`` are tensors of one shape, or equally long tuples of them (an LSTM's ``(h, c)``).
    """
    pairs = zip(a, b, strict=True) if isinstance(a, (tuple, list)) else [(a, b)]
    return max(float((x.detach() - y.detach()).abs().max()) for x, y in pairs)


class GRUGates(NamedTuple):
    """The reset gate ``r``, update gate ``z`` (both in (0, 1)) and candidate ``n`` (in (-1, 1)), each ``(..., H)``."""

    r: torch.Tensor
    z: torch.Tensor
    n: torch.Tensor


class LSTMGates(NamedTuple):
    """Input, forget and output gates ``i, f, o`` (in (0, 1)) and candidate ``g`` (in (-1, 1)), each ``(..., H)``."""

    i: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor


def _weight_names(module: nn.Module, layer: int, reverse: bool) -> list[str]:
    """Names of (weight_ih, weight_hh, bias_ih, bias_hh) in a cell, or in one layer of an ``nn.RNNBase``."""
    suffix = f"_l{layer}{'_reverse' if reverse else ''}" if isinstance(module, nn.RNNBase) else ""
    return [f"{name}{suffix}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def _input_size(module: nn.Module, layer: int, reverse: bool) -> int:
    """The input size of a cell, or of one layer of a sequence module (``H`` or ``2H`` above layer 0)."""
    name = _weight_names(module, layer, reverse)[0]
    parameters = dict(module.named_parameters())
    if name not in parameters:
        raise ValueError(f"{type(module).__name__} has no parameter {name!r}")
    return parameters[name].size(1)


class _GatedCell(nn.Module):
    """Parameters of ``gate_count`` stacked gates, initialised as ``torch.nn`` does: ``U(-1/sqrt(H), 1/sqrt(H))``."""

    gate_count = 0

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.gate_count * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        bound = 1.0 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def load_from(self, module: nn.Module, *, layer: int = 0, reverse: bool = False) -> _GatedCell:
        """Copy the four weight tensors of ``module`` (a cell, or one layer and direction of a sequence module)."""
        parameters = dict(module.named_parameters())
        with torch.no_grad():
            for own, name in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                 _weight_names(module, layer, reverse)):
                if name not in parameters:
                    raise ValueError(f"{type(module).__name__} has no parameter {name!r} (bias=False is not supported)")
                source, target = parameters[name], getattr(self, own)
                if source.shape != target.shape:
                    raise ValueError(f"{name} has shape {tuple(source.shape)}, this cell needs {tuple(target.shape)}")
                target.copy_(source)
        return self

    def _pre_activations(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``W_ih x + b_ih`` and ``W_hh h + b_hh``, each ``(..., G H)``: one matrix product each for all gates."""
        return x @ self.weight_ih.T + self.bias_ih, h @ self.weight_hh.T + self.bias_hh


class GRUVariantCell(_GatedCell):
    """One GRU step in any of the four textbook forms, with ``nn.GRUCell``'s parameters (gate order ``r, z, n``).

    .. math::
        r = \\sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \\qquad z = \\sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz})

    Candidate, ``reset="after"`` (``nn.GRU``): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``;
    ``reset="before"`` (Cho et al. 2014): ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)``.
    New state, ``update="keep"`` (``nn.GRU``, Cho et al. 2014): ``h' = z * h + (1 - z) * n``;
    ``update="write"`` (Chung et al. 2014): ``h' = (1 - z) * h + z * n``.
    ``GRUVariantCell(D, H)`` with the defaults computes exactly what ``nn.GRUCell(D, H)`` computes.
    """

    gate_count = 3

    def __init__(self, input_size: int, hidden_size: int, *, reset: Reset = "after", update: Update = "keep") -> None:
        if reset not in ("after", "before") or update not in ("keep", "write"):
            raise ValueError(f"reset must be 'after' or 'before', update 'keep' or 'write'; got {reset!r}, {update!r}")
        super().__init__(input_size, hidden_size)
        self.reset, self.update = reset, update

    @classmethod
    def from_module(cls, module: nn.Module, *, reset: Reset = "after", update: Update = "keep", layer: int = 0,
                    reverse: bool = False) -> GRUVariantCell:
        """A copy of the weights of an ``nn.GRUCell``, a ``GRUVariantCell`` or one layer of an ``nn.GRU``, as a cell."""
        cell = cls(_input_size(module, layer, reverse), module.hidden_size, reset=reset, update=update)
        return cell.to(next(module.parameters())).load_from(module, layer=layer, reverse=reverse)

    def gates(self, x: torch.Tensor, h: torch.Tensor) -> GRUGates:
        """The gates of one step: ``x`` ``(..., D)``, previous state ``h`` ``(..., H)`` -> ``r, z, n`` ``(..., H)``."""
        H = self.hidden_size
        from_input, from_state = self._pre_activations(x, h)  # (..., 3H) each
        x_r, x_z, x_n = from_input.split(H, dim=-1)
        h_r, h_z, h_n = from_state.split(H, dim=-1)          # h_n = W_hn h + b_hn
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        if self.reset == "after":
            n = torch.tanh(x_n + r * h_n)
        else:
            n = torch.tanh(x_n + (r * h) @ self.weight_hh[2 * H:].T + self.bias_hh[2 * H:])
        return GRUGates(r, z, n)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., D)``, ``h`` ``(..., H)`` -> the new state ``h'`` ``(..., H)``."""
        _, z, n = self.gates(x, h)
        return z * h + (1 - z) * n if self.update == "keep" else (1 - z) * h + z * n

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, reset={self.reset!r}, update={self.update!r}"


def relabel_update_gate(cell: GRUVariantCell) -> GRUVariantCell:
    """The same function written in the other update convention: a copy whose ``z`` is the original ``1 - z``.

    Since ``sigma(-a) = 1 - sigma(a)``, negating the update gate's rows of both weight matrices and both
    biases turns ``z`` into ``1 - z``; switching ``update`` between ``"keep"`` and ``"write"`` then gives
    back the same ``h'`` for every input (up to rounding). The reset gate and candidate are untouched.
    """
    H = cell.hidden_size
    other = copy.deepcopy(cell)
    other.update = "write" if cell.update == "keep" else "keep"
    with torch.no_grad():
        for parameter in (other.weight_ih, other.weight_hh, other.bias_ih, other.bias_hh):
            parameter[H:2 * H].neg_()
    return other


class LSTMGateCell(_GatedCell):
    """One LSTM step with ``nn.LSTMCell``'s parameters and gate order ``i, f, g, o``; the gates can be read.

    .. math::
        i, f, o = \\sigma(\\cdot), \\quad g = \\tanh(\\cdot) \\text{ of } W_{ih} x + b_{ih} + W_{hh} h + b_{hh}, \\qquad
        c' = f c + i g, \\qquad h' = o \\tanh(c')

    The state is the pair ``(h, c)``, each ``(..., H)``, as for ``nn.LSTMCell``.
    """

    gate_count = 4

    @classmethod
    def from_module(cls, module: nn.Module, *, layer: int = 0, reverse: bool = False) -> LSTMGateCell:
        """A copy of the weights of an ``nn.LSTMCell``, ``LSTMGateCell`` or one layer of an ``nn.LSTM``, as a cell."""
        if getattr(module, "proj_size", 0):
            raise ValueError("LSTMs with proj_size > 0 are not supported")
        cell = cls(_input_size(module, layer, reverse), module.hidden_size)
        return cell.to(next(module.parameters())).load_from(module, layer=layer, reverse=reverse)

    def gates(self, x: torch.Tensor, h: torch.Tensor) -> LSTMGates:
        """The gates at one step: ``x`` ``(..., D)``, the previous ``h`` ``(..., H)`` -> ``i, f, g, o`` ``(..., H)``."""
        from_input, from_state = self._pre_activations(x, h)
        a_i, a_f, a_g, a_o = (from_input + from_state).split(self.hidden_size, dim=-1)  # (..., H) each
        return LSTMGates(torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o))

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(..., D)``, ``state = (h, c)`` each ``(..., H)`` -> the new ``(h', c')``."""
        h, c = state
        i, f, g, o = self.gates(x, h)
        c_next = f * c + i * g
        return o * torch.tanh(c_next), c_next


def gate_trajectory(cell: GRUVariantCell | LSTMGateCell, inputs: torch.Tensor, state=None) -> dict[str, torch.Tensor]:
    """Run ``cell`` over ``inputs`` ``(B, T, D)`` and record its gates and states at every step.

    Returns ``{name: (B, T, H)}``: ``r, z, n, h`` for a GRU cell, ``i, f, g, o, h, c`` for an LSTM cell,
    where ``h`` (and ``c``) at index ``t`` is the state *after* step ``t`` and the gates are those used in it.
    ``state`` is the initial state, zeros when ``None``.
    """
    if state is None:
        state = initial_state(cell, inputs.size(0), inputs)
    records: dict[str, list[torch.Tensor]] = {}
    for t in range(inputs.size(1)):
        x_t = inputs[:, t]
        h = state[0] if isinstance(state, tuple) else state
        for name, value in cell.gates(x_t, h)._asdict().items():
            records.setdefault(name, []).append(value)
        state = cell(x_t, state)
        parts = {"h": state[0], "c": state[1]} if isinstance(state, tuple) else {"h": state}
        for name, value in parts.items():
            records.setdefault(name, []).append(value)
    return {name: torch.stack(values, dim=1) for name, values in records.items()}


def jacobian_norms(states: Sequence[torch.Tensor], *, ord: int | float | str = 2) -> torch.Tensor:
    """``||ds_T / ds_k||`` for every state ``s_k`` of a recurrence already run, by autograd.

    Args:
        states: ``[s_0, ..., s_T]``, each ``(..., H)``, the tensors the recurrence actually passed on, in one
            autograd graph (``s_0`` must require grad, or have been computed from something that does).
            Leading axes are independent sequences (a batch): rows of the batch must not mix.
        ord: matrix norm for ``torch.linalg.matrix_norm``: ``2`` (largest singular value) or ``"fro"``.

    Returns:
        ``(T + 1, ...)``: entry ``k`` is the norm of the ``(H, H)`` Jacobian ``ds_T / ds_k`` (per sequence of
        the batch); entry ``T`` is ``||I||``. One backward pass per row of the Jacobian, ``H`` in all.
        A state that ``s_T`` does not depend on gets 0.
    """
    last = states[-1]
    size = last.size(-1)
    rows = []
    for i in range(size):
        grads = torch.autograd.grad(last[..., i].sum(), list(states), retain_graph=True, allow_unused=True)
        rows.append(torch.stack([torch.zeros_like(s) if g is None else g for g, s in zip(grads, states)]))
    jacobians = torch.stack(rows, dim=-2)  # (T + 1, ..., H, H): [k, ..., i, j] = ds_T[i] / ds_k[j]
    return torch.linalg.matrix_norm(jacobians.detach(), ord=ord)


def cell_jacobian_norms(cell: nn.Module, inputs: torch.Tensor, *, part: int = 0, state=None,
                        ord: int | float | str = 2) -> torch.Tensor:
    """``||ds_T / ds_k||``, ``k = 0..T``, along ``cell`` run over ``inputs``: how far back a change of state reaches.

    Args:
        cell: any ``cell(x, state) -> state`` (``nn.RNNCell``, ``nn.GRUCell``, ``nn.LSTMCell``, the cells here).
        inputs: ``(T, D)`` for one sequence or ``(B, T, D)`` for a batch of independent ones.
        part: for a pair state ``(h, c)``, which part ``s`` is: ``0`` for ``h``, ``1`` for ``c``.
        state: the initial state, zeros when ``None``; it is detached and made to require grad.
        ord: matrix norm, as in :func:`jacobian_norms`.

    Returns:
        ``(T + 1,)`` for one sequence, ``(T + 1, B)`` for a batch. For an LSTM with ``part=1`` the derivative
        with respect to ``c_k`` counts every path from ``c_k`` (through ``c_{k+1}`` and through
        ``h_k = o_k tanh(c_k)``); ``h_0`` is an input of its own, so entry ``k = 0`` has the direct path only.
    """
    single = inputs.dim() == 2
    batch = inputs.unsqueeze(0) if single else inputs  # (B, T, D)
    if state is None:
        state = initial_state(cell, batch.size(0), batch)
    state = tuple(s.detach().requires_grad_(True) for s in state) if isinstance(state, tuple) \
        else state.detach().requires_grad_(True)
    with torch.enable_grad():
        states = [state[part] if isinstance(state, tuple) else state]
        for t in range(batch.size(1)):
            state = cell(batch[:, t], state)
            states.append(state[part] if isinstance(state, tuple) else state)
        norms = jacobian_norms(states, ord=ord)  # (T + 1, B)
    return norms[:, 0] if single else norms
