"""Gated cells written gate by gate: equal to torch.nn where they should be, different where they should not be."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nlpcourse.cell_models import unroll
from nlpcourse.gradient_flow import jacobian_norms_autograd
from nlpcourse.gru_variants import (GRUGates, GRUVariantCell, LSTMGateCell, LSTMGates, cell_jacobian_norms,
                                    gate_trajectory, jacobian_norms, max_difference,
                                    relabel_update_gate)

FORMS = [(reset, update) for reset in ("after", "before") for update in ("keep", "write")]


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_batch(batch: int, size: int, seed: int) -> torch.Tensor:
    return torch.randn(batch, size, generator=generator(seed), dtype=torch.float64)


def test_default_gru_variant_is_nn_gru_cell_in_value_and_gradient() -> None:
    torch.manual_seed(0)
    reference = nn.GRUCell(3, 5).double()
    cell = GRUVariantCell.from_module(reference)
    assert cell.weight_ih.dtype == torch.float64 and (cell.reset, cell.update) == ("after", "keep")
    x, h = random_batch(4, 3, 1), random_batch(4, 5, 2)
    ours, theirs = cell(x, h), reference(x, h)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    upstream = random_batch(4, 5, 3)
    (ours * upstream).sum().backward()
    (theirs * upstream).sum().backward()
    for name, parameter in reference.named_parameters():
        torch.testing.assert_close(getattr(cell, name).grad, parameter.grad, rtol=0, atol=1e-12)


def test_gru_gates_follow_the_equations() -> None:
    torch.manual_seed(1)
    cell = GRUVariantCell(2, 3).double()
    x, h = random_batch(5, 2, 4), random_batch(5, 3, 5)
    W_ir, W_iz, W_in = cell.weight_ih.detach().split(3)
    W_hr, W_hz, W_hn = cell.weight_hh.detach().split(3)
    b_ir, b_iz, b_in = cell.bias_ih.detach().split(3)
    b_hr, b_hz, b_hn = cell.bias_hh.detach().split(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n_after = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    n_before = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    gates = cell.gates(x, h)
    assert isinstance(gates, GRUGates)
    torch.testing.assert_close(gates.r, r)
    torch.testing.assert_close(gates.z, z)
    torch.testing.assert_close(gates.n, n_after)
    expected = {("after", "keep"): z * h + (1 - z) * n_after, ("after", "write"): (1 - z) * h + z * n_after,
                ("before", "keep"): z * h + (1 - z) * n_before, ("before", "write"): (1 - z) * h + z * n_before}
    for (reset, update), value in expected.items():
        variant = GRUVariantCell.from_module(cell, reset=reset, update=update)
        torch.testing.assert_close(variant(x, h), value)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_relabelling_the_update_gate_keeps_the_function(reset: str) -> None:
    torch.manual_seed(2)
    cell = GRUVariantCell(3, 4, reset=reset).double()
    other = relabel_update_gate(cell)
    assert other.update == "write" and cell.update == "keep"  # the original is left alone
    x, h = random_batch(6, 3, 6), random_batch(6, 4, 7)
    torch.testing.assert_close(other(x, h), cell(x, h), rtol=0, atol=1e-14)
    torch.testing.assert_close(other.gates(x, h).z, 1 - cell.gates(x, h).z, rtol=0, atol=1e-14)
    back = relabel_update_gate(other)
    torch.testing.assert_close(back.weight_ih, cell.weight_ih)
    # without the negated weights, switching the convention alone is a different function
    switched = GRUVariantCell.from_module(cell, reset=reset, update="write")
    assert (switched(x, h) - cell(x, h)).abs().max() > 1e-2


def test_reset_before_and_after_differ_even_without_the_bias() -> None:
    torch.manual_seed(3)
    after = GRUVariantCell(3, 4).double()
    with torch.no_grad():
        after.bias_hh[8:].zero_()
    before = GRUVariantCell.from_module(after, reset="before")
    x, h = random_batch(8, 3, 8), random_batch(8, 4, 9)
    assert (after(x, h) - before(x, h)).abs().max() > 1e-3
    with torch.no_grad():  # with r = 1 everywhere the two forms agree
        after.bias_ih[:4].fill_(50.0)
        before.bias_ih[:4].fill_(50.0)
    torch.testing.assert_close(after(x, h), before(x, h))


def test_from_module_reads_every_layer_of_nn_gru_and_nn_lstm() -> None:
    torch.manual_seed(4)
    inputs = torch.randn(2, 6, 3, dtype=torch.float64)
    gru = nn.GRU(3, 5, num_layers=2, batch_first=True).double()
    expected, _ = gru(inputs)
    hidden, _ = unroll(GRUVariantCell.from_module(gru, layer=0), inputs)
    hidden, _ = unroll(GRUVariantCell.from_module(gru, layer=1), hidden)
    torch.testing.assert_close(hidden, expected)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    expected, (h_n, c_n) = lstm(inputs)
    hidden, _ = unroll(LSTMGateCell.from_module(lstm, layer=0), inputs)
    hidden, (h_last, c_last) = unroll(LSTMGateCell.from_module(lstm, layer=1), hidden)
    torch.testing.assert_close(hidden, expected)
    torch.testing.assert_close(c_last, c_n[1])
    bidirectional = nn.GRU(3, 4, bidirectional=True).double()
    assert GRUVariantCell.from_module(bidirectional, reverse=True).weight_hh.data_ptr() != \
        bidirectional.weight_hh_l0_reverse.data_ptr()
    torch.testing.assert_close(GRUVariantCell.from_module(bidirectional, reverse=True).weight_hh,
                               bidirectional.weight_hh_l0_reverse)
    with pytest.raises(ValueError):
        GRUVariantCell.from_module(gru, layer=2)
    with pytest.raises(ValueError):
        GRUVariantCell(3, 4, reset="inside")


def test_lstm_gate_cell_is_nn_lstm_cell_and_exposes_its_gates() -> None:
    torch.manual_seed(5)
    reference = nn.LSTMCell(3, 4).double()
    cell = LSTMGateCell.from_module(reference)
    x = random_batch(5, 3, 10)
    state = (random_batch(5, 4, 11), random_batch(5, 4, 12))
    for ours, theirs in zip(cell(x, state), reference(x, state)):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    i, f, g, o = gates = cell.gates(x, state[0])
    assert isinstance(gates, LSTMGates)
    pre = x @ reference.weight_ih.T + reference.bias_ih + state[0] @ reference.weight_hh.T + reference.bias_hh
    torch.testing.assert_close(f, torch.sigmoid(pre[:, 4:8]))   # order i, f, g, o
    torch.testing.assert_close(g, torch.tanh(pre[:, 8:12]))
    torch.testing.assert_close(cell(x, state)[1], f * state[1] + i * g)


def test_cells_start_like_torch_nn() -> None:
    torch.manual_seed(6)
    cell = LSTMGateCell(10, 25)
    bound = 1 / math.sqrt(25)
    assert cell.weight_hh.shape == (100, 25) and cell.weight_ih.shape == (100, 10)
    assert all(p.abs().max() <= bound for p in cell.parameters())
    assert sum(p.numel() for p in cell.parameters()) == sum(p.numel() for p in nn.LSTMCell(10, 25).parameters())
    assert sum(p.numel() for p in GRUVariantCell(10, 25).parameters()) == \
        sum(p.numel() for p in nn.GRUCell(10, 25).parameters())


def test_gate_trajectory_records_gates_and_states() -> None:
    torch.manual_seed(7)
    inputs = torch.randn(3, 5, 2, dtype=torch.float64)
    gru = GRUVariantCell(2, 4).double()
    record = gate_trajectory(gru, inputs)
    assert set(record) == {"r", "z", "n", "h"} and all(v.shape == (3, 5, 4) for v in record.values())
    hidden, _ = unroll(gru, inputs)
    torch.testing.assert_close(record["h"], hidden)
    h_prev = torch.cat([torch.zeros(3, 1, 4, dtype=torch.float64), hidden[:, :-1]], dim=1)
    torch.testing.assert_close(record["h"], record["z"] * h_prev + (1 - record["z"]) * record["n"])
    lstm = LSTMGateCell(2, 4).double()
    record = gate_trajectory(lstm, inputs)
    assert set(record) == {"i", "f", "g", "o", "h", "c"}
    torch.testing.assert_close(record["h"], record["o"] * torch.tanh(record["c"]))


def test_cell_jacobian_norms_match_the_vanilla_rnn_measurement() -> None:
    torch.manual_seed(8)
    rnn = nn.RNNCell(3, 6).double()
    inputs = torch.randn(12, 3, dtype=torch.float64)
    norms = cell_jacobian_norms(rnn, inputs)
    drive = inputs @ rnn.weight_ih.T + rnn.bias_ih + rnn.bias_hh  # u_t, (T, H)
    expected = jacobian_norms_autograd(rnn.weight_hh, 12, torch.tanh, drive=drive)
    assert norms.shape == (13,)
    torch.testing.assert_close(norms, expected)
    batch = cell_jacobian_norms(rnn, torch.stack([inputs, torch.randn(12, 3, dtype=torch.float64)]))
    assert batch.shape == (13, 2)
    torch.testing.assert_close(batch[:, 0], norms)


def test_cell_state_jacobian_is_the_forget_gate_when_the_forget_gate_ignores_everything_else() -> None:
    torch.manual_seed(9)
    cell = LSTMGateCell(3, 4).double()
    with torch.no_grad():  # f = sigma(b) exactly, and h does not feed back: c_T = f^T c_0 + ...
        cell.weight_ih[4:8].zero_()
        cell.weight_hh.zero_()
        cell.bias_ih[4:8].fill_(math.log(0.9 / 0.1))
        cell.bias_hh[4:8].zero_()
    norms = cell_jacobian_norms(cell, torch.randn(10, 3, dtype=torch.float64), part=1)
    torch.testing.assert_close(norms, 0.9 ** torch.arange(10, -1, -1, dtype=torch.float64))


def test_jacobian_norms_of_unrelated_states_are_zero() -> None:
    s0 = torch.ones(3, dtype=torch.float64, requires_grad=True)
    unrelated = torch.ones(3, dtype=torch.float64, requires_grad=True)
    s1 = 2 * s0
    norms = jacobian_norms([unrelated, s0, s1], ord="fro")
    torch.testing.assert_close(norms, torch.tensor([0.0, 2 * math.sqrt(3), math.sqrt(3)], dtype=torch.float64))


def test_max_difference_takes_tensors_and_pairs_and_keeps_no_graph() -> None:
    a = torch.zeros(2, 3, requires_grad=True)
    b = torch.tensor([[0.0, -2.0, 1.0], [0.5, 0.0, 0.0]])
    assert max_difference(a * 1, b) == 2.0
    assert max_difference((a, a), (b, b + 3)) == 4.0
    with pytest.raises(ValueError):
        max_difference((a, a), (b,))
