"""Running the same experiment for several recurrent cells: models, runs, tables and plots."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nlpcourse.charlm import CharLanguageModel, batchify, evaluate
from nlpcourse.gated_experiments import (
    BidirectionalCharModel,
    RecurrentRegressor,
    first_below,
    format_table,
    gate_activations,
    gradient_norms_through_time,
    loss_by_position,
    plot_adding_histories,
    plot_validation_curves,
    set_forget_bias,
    train_adding_models,
    train_char_models,
)
from nlpcourse.sequence_tasks import ADDING_BASELINE_MSE, AddingHistory, adding_problem

CPU = torch.device("cpu")


def test_set_forget_bias_fills_only_the_forget_quarter_of_bias_ih() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    before = {name: p.detach().clone() for name, p in lstm.named_parameters()}
    set_forget_bias(lstm, 1.5)
    for name, p in lstm.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.equal(p[4:8], torch.full((4,), 1.5))
            assert torch.equal(p[:4], before[name][:4]) and torch.equal(p[8:], before[name][8:])
        else:
            assert torch.equal(p, before[name])
    with pytest.raises(TypeError):
        set_forget_bias(nn.GRU(3, 4), 1.0)


def test_forget_bias_matches_the_character_model() -> None:
    torch.manual_seed(0)
    char = CharLanguageModel(5, 6, cell="lstm", embedding_dim=2, forget_bias=1.0)
    torch.manual_seed(0)
    _ = nn.Embedding(5, 2)  # CharLanguageModel draws its embedding first
    lstm = nn.LSTM(2, 6, batch_first=True)
    set_forget_bias(lstm, 1.0)
    assert torch.equal(lstm.bias_ih_l0, char.recurrent.bias_ih_l0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_regressor_shapes_and_last_state(cell: str) -> None:
    torch.manual_seed(0)
    model = RecurrentRegressor(cell, 8)
    inputs, _ = adding_problem(5, 7, torch.Generator().manual_seed(0))
    out = model(inputs)
    assert out.shape == (5,)
    hidden, _ = model.recurrent(inputs)
    assert torch.allclose(out, model.readout(hidden[:, -1]).squeeze(-1))


def test_regressor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cell must be"):
        RecurrentRegressor("transformer", 4)
    with pytest.raises(ValueError, match="LSTM only"):
        RecurrentRegressor("gru", 4, forget_bias=1.0)
    model = RecurrentRegressor("lstm", 4, forget_bias=2.0)
    assert torch.equal(model.recurrent.bias_ih_l0[4:8], torch.full((4,), 2.0))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_gradient_norms_through_time(cell: str) -> None:
    torch.manual_seed(0)
    model = RecurrentRegressor(cell, 6)
    inputs, targets = adding_problem(4, 9, torch.Generator().manual_seed(1))
    norms = gradient_norms_through_time(model, inputs)
    assert norms.shape == (9,) and norms.dtype == torch.float64
    assert norms[-1].item() == pytest.approx(1.0)  # default loss: ||dL/dh_T|| = 1
    assert (norms > 0).all()

    # with targets: the last entry is the gradient of the summed squared error through the read-out
    with_targets = gradient_norms_through_time(model, inputs, targets)
    hidden, _ = model.recurrent(inputs)
    h_last = hidden[:, -1].detach().requires_grad_(True)
    loss = ((model.readout(h_last).squeeze(-1) - targets) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, h_last)
    assert with_targets[-1].item() == pytest.approx(grad.norm(dim=-1).mean().item(), rel=1e-5)


def test_train_adding_models_is_reproducible_and_same_data() -> None:
    test_set = adding_problem(20, 6, torch.Generator().manual_seed(5))
    builders = {"gru": lambda: RecurrentRegressor("gru", 4), "rnn": lambda: RecurrentRegressor("rnn", 4)}
    options = dict(length=6, steps=4, test_set=test_set, device=CPU, eval_every=2, progress=False)
    first = train_adding_models(builders, seed=3, **options)
    second = train_adding_models(builders, seed=3, **options)
    assert list(first) == ["gru", "rnn"]
    for label in builders:
        assert first[label].history.steps == [2, 4]
        assert first[label].history.test_mse == second[label].history.test_mse
        assert isinstance(first[label].model, RecurrentRegressor)


def test_first_below() -> None:
    history = AddingHistory(steps=[10, 20, 30], test_mse=[0.2, 0.05, 0.001], seconds=[1.0, 2.0, 3.0])
    assert first_below(history, 0.1) == (20, 2.0)
    assert first_below(history, 0.01) == (30, 3.0)
    assert first_below(history, 1e-4) is None


def test_train_char_models_records_initial_and_epochs() -> None:
    ids = torch.randint(0, 7, (600,), generator=torch.Generator().manual_seed(0))
    train_streams, valid_streams = batchify(ids[:480], 4), batchify(ids[480:], 4)
    builders = {"gru": lambda: CharLanguageModel(7, 8, cell="gru", embedding_dim=4)}
    runs = train_char_models(builders, train_streams, valid_streams, seq_len=10, epochs=2, device=CPU, seed=0)
    run = runs["gru"]
    seconds, epochs, losses = run.valid_curve
    assert epochs == [0, 1, 2] and seconds[0] == 0.0 and len(seconds) == len(losses) == 3
    assert losses[1:] == run.history.valid_losses
    torch.manual_seed(0)
    fresh = CharLanguageModel(7, 8, cell="gru", embedding_dim=4)
    assert run.initial_valid == pytest.approx(evaluate(fresh, valid_streams, 10, CPU))


def test_bidirectional_model_sees_the_next_input() -> None:
    torch.manual_seed(0)
    model = BidirectionalCharModel(6, 5, embedding_dim=3)
    ids = torch.randint(0, 6, (2, 8), generator=torch.Generator().manual_seed(0))
    logits, state = model(ids)
    assert logits.shape == (2, 8, 6) and state is None
    changed = ids.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 6  # change the input at t = 5
    moved = (model(changed)[0] - logits).abs().amax(dim=(0, 2))  # (T,)
    assert (moved[:6] > 0).all()  # every output up to t = 5 depends on x_5: positions 0..4 see the future

    unidirectional = CharLanguageModel(6, 5, cell="gru", embedding_dim=3)
    moved = (unidirectional(changed)[0] - unidirectional(ids)[0]).abs().amax(dim=(0, 2))
    assert (moved[:5] == 0).all() and (moved[5:] > 0).all()


def test_loss_by_position() -> None:
    torch.manual_seed(0)
    model = CharLanguageModel(5, 4, embedding_dim=3)
    streams = batchify(torch.randint(0, 5, (3 * 23,), generator=torch.Generator().manual_seed(0)), 3)  # (3, 23)
    by_position = loss_by_position(model, streams, 5, CPU)  # 22 predictions per row: 4 full chunks of 5
    assert by_position.shape == (5,)
    assert by_position.mean().item() == pytest.approx(evaluate(model, streams[:, :21], 5, CPU), rel=1e-6)
    with pytest.raises(ValueError, match="no full chunk"):
        loss_by_position(model, streams[:, :4], 5, CPU)


def test_format_table() -> None:
    table = format_table([{"model": "GRU", "mse": 0.00123, "step": 1200}, {"model": "RNN", "mse": 0.17, "step": None}],
                         {"mse": ".4f"})
    lines = table.splitlines()
    assert lines[0].split() == ["model", "mse", "step"]
    assert lines[2].split() == ["GRU", "0.0012", "1200"]
    assert lines[3].split() == ["RNN", "0.1700", "-"]
    assert len({len(line) for line in lines}) == 1
    assert format_table([]) == ""


def test_plots() -> None:
    histories = {"a": AddingHistory([1, 2], [0.2, 0.1], [0.5, 1.0]),
                 "b": AddingHistory([1, 2], [0.17, 0.16], [0.1, 0.2])}
    ax = plot_adding_histories(histories, x="seconds", title="t")
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log"
    assert ax.get_lines()[-1].get_ydata()[0] == pytest.approx(ADDING_BASELINE_MSE)
    with pytest.raises(ValueError):
        plot_adding_histories(histories, x="epochs")

    ids = torch.randint(0, 5, (200,), generator=torch.Generator().manual_seed(0))
    runs = train_char_models({"rnn": lambda: CharLanguageModel(5, 4, embedding_dim=3)}, batchify(ids[:160], 2),
                             batchify(ids[160:], 2), seq_len=8, epochs=1, device=CPU, seed=0)
    ax_seconds, ax_epochs = plot_validation_curves(runs, ylim=(0.0, 3.0))
    assert list(ax_epochs.get_lines()[0].get_xdata()) == [0, 1]
    assert ax_seconds.get_ylim() == (0.0, 3.0)


def test_gate_activations_rebuild_the_states() -> None:
    torch.manual_seed(0)
    inputs = torch.randn(3, 6, 2)
    gru = nn.GRU(2, 4, batch_first=True)
    gates = gate_activations(gru, inputs)
    assert set(gates) == {"r", "z"} and gates["z"].shape == (3, 6, 4)
    hidden, _ = gru(inputs)
    h = torch.zeros(3, 4)
    W_in, W_hn = gru.weight_ih_l0[8:], gru.weight_hh_l0[8:]
    b_in, b_hn = gru.bias_ih_l0[8:], gru.bias_hh_l0[8:]
    for t in range(6):  # h_t = (1 - z) * n + z * h_{t-1}, n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        r, z = gates["r"][:, t], gates["z"][:, t]
        n = torch.tanh(inputs[:, t] @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        assert torch.allclose(h, hidden[:, t], atol=1e-6)

    lstm = nn.LSTM(2, 4, batch_first=True)
    gates = gate_activations(lstm, inputs)
    assert set(gates) == {"i", "f", "o"}
    hidden, _ = lstm(inputs)
    c = torch.zeros(3, 4)
    W_g, b_g = lstm.weight_ih_l0[8:12], lstm.bias_ih_l0[8:12] + lstm.bias_hh_l0[8:12]
    U_g, h = lstm.weight_hh_l0[8:12], torch.zeros(3, 4)
    for t in range(6):  # c_t = f c_{t-1} + i g, h_t = o tanh(c_t)
        g = torch.tanh(inputs[:, t] @ W_g.T + h @ U_g.T + b_g)
        c = gates["f"][:, t] * c + gates["i"][:, t] * g
        h = gates["o"][:, t] * torch.tanh(c)
        assert torch.allclose(h, hidden[:, t], atol=1e-6)
    with pytest.raises(ValueError):
        gate_activations(nn.GRU(2, 4, batch_first=True, num_layers=2), inputs)
    with pytest.raises(TypeError):
        gate_activations(nn.RNN(2, 4, batch_first=True), inputs)
