"""Gradient-flow measurements: Jacobian norms by autograd, gradients reaching each hidden state, plots."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from nlpcourse.charlm import CharLanguageModel, batchify
from nlpcourse.gradient_flow import (
    fit_recording_gradients,
    hidden_gradient_norms,
    jacobian_norms_autograd,
    matrix_with_spectral_radius,
    orthogonal_matrix,
    plot_gradient_norms,
    spectral_radius,
    unroll_states,
    vanilla_rnn_states,
)

CPU = torch.device("cpu")


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.3])
def test_matrix_with_spectral_radius(rho: float) -> None:
    W = matrix_with_spectral_radius(20, rho, generator(1))
    assert W.shape == (20, 20) and W.dtype == torch.float64
    assert spectral_radius(W) == pytest.approx(rho, rel=1e-10)
    assert torch.equal(W, matrix_with_spectral_radius(20, rho, generator(1)))  # the generator fixes it
    assert not torch.equal(W, matrix_with_spectral_radius(20, rho, generator(2)))
    assert matrix_with_spectral_radius(5, rho, generator(), dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError):
        matrix_with_spectral_radius(0, rho)


def test_orthogonal_matrix() -> None:
    Q = orthogonal_matrix(12, generator(3))
    torch.testing.assert_close(Q.T @ Q, torch.eye(12, dtype=torch.float64))
    assert torch.equal(Q, orthogonal_matrix(12, generator(3)))
    scaled = orthogonal_matrix(12, generator(3), gain=0.5)
    torch.testing.assert_close(scaled, 0.5 * Q)
    torch.testing.assert_close(torch.linalg.svdvals(scaled), torch.full((12,), 0.5, dtype=torch.float64))


def test_vanilla_rnn_states_follow_the_recurrence() -> None:
    W = matrix_with_spectral_radius(4, 0.9, generator())
    drive = torch.randn(6, 4, generator=generator(1), dtype=torch.float64)
    h0 = torch.randn(4, generator=generator(2), dtype=torch.float64)
    states = vanilla_rnn_states(W, drive, h0)
    assert len(states) == 7 and states[0] is h0
    for t in range(1, 7):
        torch.testing.assert_close(states[t], torch.tanh(W @ states[t - 1] + drive[t - 1]))


def product_of_jacobians(W: torch.Tensor, states: list[torch.Tensor], k: int, derivative) -> torch.Tensor:
    """dh_T/dh_k = prod_{j=k+1..T} diag(f'(a_j)) W, with f'(a_j) given as a function of h_j."""
    jacobian = torch.eye(W.shape[0], dtype=torch.float64)
    for j in range(len(states) - 1, k, -1):
        jacobian = jacobian @ (derivative(states[j])[:, None] * W)
    return jacobian


def test_linear_jacobian_norms_are_norms_of_matrix_powers() -> None:
    W = matrix_with_spectral_radius(6, 1.1, generator())
    norms = jacobian_norms_autograd(W, 12, lambda a: a)
    assert norms.shape == (13,) and norms.dtype == torch.float64
    expected = torch.stack([torch.linalg.matrix_norm(torch.linalg.matrix_power(W, 12 - k), ord=2) for k in range(13)])
    torch.testing.assert_close(norms, expected)
    assert norms[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("ord", [2, "fro"])
def test_tanh_jacobian_norms_match_the_product_formula(ord) -> None:
    W = matrix_with_spectral_radius(5, 1.5, generator())
    drive = 0.5 * torch.randn(8, 5, generator=generator(1), dtype=torch.float64)
    h0 = torch.randn(5, generator=generator(2), dtype=torch.float64)
    norms = jacobian_norms_autograd(W, 8, torch.tanh, drive=drive, h0=h0, ord=ord)
    states = vanilla_rnn_states(W, drive, h0)
    expected = torch.stack([
        torch.linalg.matrix_norm(product_of_jacobians(W, states, k, lambda h: 1 - h**2), ord=ord) for k in range(9)
    ])
    torch.testing.assert_close(norms, expected)


def test_scalar_nested_tanh_example() -> None:
    # h_t = tanh(3 h_{t-1} + 2 x_t + 1) with x_t = 1 and h_0 = 0: the derivative is a product of 3 (1 - h_t^2).
    steps = 5
    norms = jacobian_norms_autograd(torch.tensor([[3.0]]), steps, torch.tanh, drive=torch.full((steps, 1), 3.0))
    h, factors = 0.0, []
    for _ in range(steps):
        h = math.tanh(3 * h + 3)
        factors.append(3 * (1 - h * h))
    expected = [math.prod(factors[k:]) for k in range(steps + 1)]
    np.testing.assert_allclose(norms.numpy(), expected, rtol=1e-10)


def test_jacobian_norms_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="square"):
        jacobian_norms_autograd(torch.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="drive"):
        jacobian_norms_autograd(torch.zeros(3, 3), 2, drive=torch.zeros(3, 3))


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", [nn.RNN, nn.GRU, nn.LSTM])
def test_unroll_states_matches_the_fused_module(kind, batch_first: bool) -> None:
    torch.manual_seed(0)
    module = kind(3, 5, batch_first=batch_first)
    inputs = torch.randn(2, 7, 3) if batch_first else torch.randn(7, 2, 3)
    output, _ = module(inputs)
    states = unroll_states(module, inputs)
    assert len(states) == 7 and states[0].shape == (1, 2, 5)
    stepped = torch.stack([s[-1] for s in states], dim=1 if batch_first else 0)
    torch.testing.assert_close(stepped, output)


def test_unroll_states_lstm_cell_parts_and_cells() -> None:
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    inputs = torch.randn(2, 6, 3)
    h, c = None, None
    hs, cs = unroll_states(cell, inputs), unroll_states(cell, inputs, part=1)
    state = None
    for t in range(6):
        state = cell(inputs[:, t], state)
        h, c = state
        torch.testing.assert_close(hs[t], h)
        torch.testing.assert_close(cs[t], c)
    gru = nn.GRUCell(3, 4)
    assert [s.shape for s in unroll_states(gru, inputs)] == [(2, 4)] * 6


def test_unroll_states_runs_a_char_model_on_ids() -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(10, 8, embedding_dim=4)
    ids = torch.randint(10, (3, 5))
    states = unroll_states(model, ids)
    _, final = model(ids)
    assert len(states) == 5
    torch.testing.assert_close(states[-1], final)


def test_hidden_gradient_norms_equal_the_jacobian_route() -> None:
    W = matrix_with_spectral_radius(4, 1.2, generator())
    drive = torch.randn(9, 4, generator=generator(1), dtype=torch.float64)
    h0 = torch.randn(4, generator=generator(2), dtype=torch.float64)

    def states_after_each_step(start: torch.Tensor) -> list[torch.Tensor]:
        return vanilla_rnn_states(W, drive, start)[1:]  # h_1..h_T

    norms = hidden_gradient_norms(states_after_each_step, h0)
    assert norms.shape == (9,) and norms[-1] == pytest.approx(1.0)
    states = vanilla_rnn_states(W, drive, h0)
    ones = torch.ones(4, dtype=torch.float64) / 2.0  # dL/dh_T for L = sum(h_T) / sqrt(4)
    expected = [float(torch.linalg.vector_norm(ones @ product_of_jacobians(W, states, k, lambda h: 1 - h**2)))
                for k in range(1, 10)]
    np.testing.assert_allclose(norms.numpy(), expected, rtol=1e-10)


def test_hidden_gradient_norms_average_over_the_batch_and_take_a_loss() -> None:
    torch.manual_seed(0)
    rnn = nn.RNN(3, 6, batch_first=True).double()
    inputs = torch.randn(4, 10, 3, dtype=torch.float64)
    norms = hidden_gradient_norms(lambda x: unroll_states(rnn, x), inputs)
    assert norms.shape == (10,) and norms[-1] == pytest.approx(1.0)
    per_sequence = [hidden_gradient_norms(lambda x: unroll_states(rnn, x), inputs[b:b + 1]) for b in range(4)]
    torch.testing.assert_close(norms, torch.stack(per_sequence).mean(0))
    doubled = hidden_gradient_norms(lambda x: unroll_states(rnn, x), inputs, loss=lambda h: 2 * h.sum() / math.sqrt(6))
    torch.testing.assert_close(doubled, 2 * norms)


def test_the_fused_output_is_not_the_chain() -> None:
    torch.manual_seed(0)
    rnn = nn.RNN(3, 6, batch_first=True)
    inputs = torch.randn(2, 5, 3)
    through_output = hidden_gradient_norms(lambda x: list(rnn(x)[0].unbind(1)), inputs)
    assert torch.all(through_output[:-1] == 0) and through_output[-1] > 0  # earlier outputs are dead ends
    assert torch.all(hidden_gradient_norms(lambda x: unroll_states(rnn, x), inputs) > 0)


def shakespeare_like_streams() -> torch.Tensor:
    ids = torch.randint(12, (2000,), generator=generator(5))
    return batchify(ids, 8)  # (8, 250)


def test_fit_recording_gradients_counts_updates_and_records_the_norm_before_clipping() -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(12, 16, embedding_dim=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    record = fit_recording_gradients(model, shakespeare_like_streams(), optimizer, seq_len=20, steps=30,
                                     device=CPU, max_norm=1e-3)
    assert len(record.losses) == len(record.gradient_norms) == 30  # more than one pass of 13 chunks
    assert min(record.gradient_norms) > 1e-3  # recorded before clipping to 1e-3
    assert all(math.isfinite(loss) for loss in record.losses)


def test_fit_recording_gradients_stops_at_a_non_finite_loss() -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(12, 16, embedding_dim=8)
    with torch.no_grad():
        model.readout.bias[0] = float("nan")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    record = fit_recording_gradients(model, shakespeare_like_streams(), optimizer, seq_len=20, steps=10, device=CPU)
    assert len(record.losses) == 1 and math.isnan(record.losses[0])


def test_plot_gradient_norms_draws_against_steps_back() -> None:
    norms = np.array([0.0, 1e-3, 1e-2, 1e-1, 1.0])  # k = 0..4, so T - k = 4..0
    ax = plot_gradient_norms({"curve": norms, "other": np.ones(3)}, references={"rate 0.1": 0.1}, title="t")
    first = ax.get_lines()[0]
    np.testing.assert_array_equal(first.get_xdata(), [4, 3, 2, 1, 0])
    assert np.isnan(first.get_ydata()[0])  # a zero is left out of the log plot
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "steps back, $T - k$" and ax.get_title() == "t"
    reference = ax.get_lines()[2]
    np.testing.assert_allclose(reference.get_ydata(), 0.1 ** np.arange(5))
    assert reference.get_color() == first.get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["curve", "other", "rate 0.1"]
    _, given = plt.subplots()
    assert plot_gradient_norms({"c": norms}, ax=given) is given
