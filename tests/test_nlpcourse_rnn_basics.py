"""The loop-written RNN of ``nlpcourse.rnn_basics`` against the maths and against ``torch.nn.RNN``."""

from __future__ import annotations

import pytest
import torch
from matplotlib.patches import FancyBboxPatch
from torch import nn

from nlpcourse.rnn_basics import (RNN_PATTERNS, RNNPattern, RNNWeights, deep_rnn_forward,
                                  draw_rnn_patterns, rnn_forward, rnn_step, weights_of)


def random_weights(hidden: int, inputs: int, generator: torch.Generator) -> RNNWeights:
    return RNNWeights(torch.randn(hidden, inputs, generator=generator, dtype=torch.float64),
                      torch.randn(hidden, hidden, generator=generator, dtype=torch.float64),
                      torch.randn(hidden, generator=generator, dtype=torch.float64))


def test_rnn_step_is_the_column_vector_formula_and_works_on_batches() -> None:
    generator = torch.Generator().manual_seed(0)
    w = random_weights(3, 4, generator)
    x = torch.randn(4, generator=generator, dtype=torch.float64)
    h = torch.randn(3, generator=generator, dtype=torch.float64)
    expected = torch.tanh(w.W_hh @ h + w.W_xh @ x + w.b)
    torch.testing.assert_close(rnn_step(x, h, w.W_xh, w.W_hh, w.b), expected)
    xs = torch.randn(5, 4, generator=generator, dtype=torch.float64)
    hs = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    batched = rnn_step(xs, hs, w.W_xh, w.W_hh, w.b)
    assert batched.shape == (5, 3)
    for row in range(5):
        torch.testing.assert_close(batched[row], torch.tanh(w.W_hh @ hs[row] + w.W_xh @ xs[row] + w.b))


@pytest.mark.parametrize("batch_shape", [(), (2,)])
@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_forward_matches_nn_rnn_with_copied_weights(batch_shape: tuple[int, ...], with_h0: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    T, X, H = 6, 4, 3
    w = random_weights(H, X, generator)
    rnn = nn.RNN(X, H).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(w.W_xh)
        rnn.weight_hh_l0.copy_(w.W_hh)
        rnn.bias_ih_l0.copy_(w.b)
        rnn.bias_hh_l0.zero_()
    inputs = torch.randn(T, *batch_shape, X, generator=generator, dtype=torch.float64)
    h0 = torch.randn(*batch_shape, H, generator=generator, dtype=torch.float64) if with_h0 else None
    ours = rnn_forward(inputs, w.W_xh, w.W_hh, w.b, h0)
    theirs, h_n = rnn(inputs, None if h0 is None else h0[None])
    assert ours.shape == (T, *batch_shape, H)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(ours[-1], h_n[0])


def test_rnn_forward_refuses_an_empty_sequence() -> None:
    w = random_weights(3, 2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="empty"):
        rnn_forward(torch.zeros(0, 2, dtype=torch.float64), w.W_xh, w.W_hh, w.b)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_deep_rnn_forward_matches_nn_rnn(num_layers: int, bidirectional: bool, bias: bool) -> None:
    torch.manual_seed(num_layers)
    T, B, X, H = 5, 3, 4, 6
    rnn = nn.RNN(X, H, num_layers=num_layers, bidirectional=bidirectional, bias=bias).double()
    if bias:  # nn.RNN starts its biases small; make them matter
        for name, parameter in rnn.named_parameters():
            if name.startswith("bias"):
                nn.init.normal_(parameter)
    weights = weights_of(rnn)
    D = 2 if bidirectional else 1
    assert len(weights) == num_layers and all(len(layer) == D for layer in weights)
    assert weights[0][0].W_xh.shape == (H, X) and weights[-1][-1].W_xh.shape == (H, X if num_layers == 1 else D * H)
    inputs = torch.randn(T, B, X, dtype=torch.float64)
    outputs, final = deep_rnn_forward(inputs, weights)
    expected_outputs, h_n = rnn(inputs)
    assert outputs.shape == (T, B, D * H) and final.shape == (num_layers * D, B, H)
    torch.testing.assert_close(outputs, expected_outputs)
    torch.testing.assert_close(final, h_n)
    unbatched, _ = deep_rnn_forward(inputs[:, 0], weights)  # one sequence, no batch axis
    torch.testing.assert_close(unbatched, expected_outputs[:, 0])


def test_backward_direction_sees_only_the_future() -> None:
    torch.manual_seed(0)
    rnn = nn.RNN(2, 3, bidirectional=True).double()
    inputs = torch.randn(7, 2, dtype=torch.float64)
    changed = inputs.clone()
    changed[3] += 1.0
    before, _ = deep_rnn_forward(inputs, weights_of(rnn))
    after, _ = deep_rnn_forward(changed, weights_of(rnn))
    moved = (after - before).abs() > 1e-12  # (T, 2H)
    assert not moved[:3, :3].any() and moved[3:, :3].all()   # forward states from t = 3 on
    assert moved[:4, 3:].all() and not moved[4:, 3:].any()   # backward states up to t = 3


def test_weights_of_is_a_detached_copy_and_refuses_relu() -> None:
    rnn = nn.RNN(2, 3)
    weights = weights_of(rnn)
    weights[0][0].W_hh.zero_()
    assert rnn.weight_hh_l0.abs().sum() > 0
    assert not weights[0][0].b.requires_grad
    torch.testing.assert_close(weights[0][0].b, (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach())
    with pytest.raises(ValueError, match="relu"):
        weights_of(nn.RNN(2, 3, nonlinearity="relu"))


def test_deep_rnn_forward_refuses_three_directions() -> None:
    w = random_weights(3, 2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="direction"):
        deep_rnn_forward(torch.zeros(4, 2, dtype=torch.float64), [[w, w, w]])


def test_draw_rnn_patterns_draws_one_box_per_input_step_and_output() -> None:
    ax = draw_rnn_patterns()
    boxes = [patch for patch in ax.patches if isinstance(patch, FancyBboxPatch)]
    assert len(boxes) == sum(sum(p.inputs) + len(p.inputs) + sum(p.outputs) for p in RNN_PATTERNS)
    titles = {text.get_text() for text in ax.texts}
    assert {p.name for p in RNN_PATTERNS} <= titles
    assert [p.name.split("\n")[0] for p in RNN_PATTERNS] == [
        "one to one", "one to many", "many to one", "many to many", "many to many"]
    with pytest.raises(ValueError, match="same number of steps"):
        draw_rnn_patterns([RNNPattern("bad", "", (True, True), (True,))])
