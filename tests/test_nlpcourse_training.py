"""The shared training loop, the numerical gradient check and the source display."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpcourse.gradcheck import numerical_gradient, relative_error
from nlpcourse.training import History, fit, to_device

CPU = torch.device("cpu")


def test_numerical_gradient_of_a_quadratic() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    before = x.copy()
    grad = numerical_gradient(lambda v: float(v @ A @ v), x)
    np.testing.assert_allclose(grad, (A + A.T) @ x, rtol=1e-6)
    np.testing.assert_array_equal(x, before)  # restored after the loop
    assert relative_error((A + A.T) @ x, grad) < 1e-7


def test_numerical_gradient_keeps_the_shape() -> None:
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    grad = numerical_gradient(lambda m: float(np.sum(m ** 3)), x)
    assert grad.shape == (2, 3) and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-6, atol=1e-6)


def test_relative_error() -> None:
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(a, a * 1.01) == pytest.approx(0.01 / 2.01)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0
    assert relative_error([0.0], [1e-3]) == pytest.approx(1.0)  # a small error on a zero gradient is total
    with pytest.raises(ValueError, match=r"gradient shapes differ: \(3,\) vs \(1, 3\)"):
        relative_error(a, a.reshape(1, 3))


def test_gradient_check_catches_a_wrong_gradient() -> None:
    x = np.array([0.5, -1.5])
    numeric = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert relative_error(np.cos(x), numeric) < 1e-8
    assert relative_error(-np.cos(x), numeric) == pytest.approx(1.0)


def linear_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=generator)
    y = X @ torch.tensor([2.0, -1.0, 0.5]) + 0.3
    return X, y


def squared_errors(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    X, y = batch
    return (model(X).squeeze(-1) - y) ** 2  # (B,)


def test_fit_lowers_the_loss_of_a_linear_regression() -> None:
    torch.manual_seed(0)
    X, y = linear_data()
    batches = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True)
    model = torch.nn.Linear(3, 1)
    history = fit(model, batches, squared_errors, torch.optim.SGD(model.parameters(), lr=0.05),
                  epochs=5, device=CPU, progress=False)
    assert isinstance(history, History)
    assert len(history.epoch_losses) == 5 and history.examples == 5 * 256
    assert all(later < earlier for earlier, later in zip(history.epoch_losses, history.epoch_losses[1:]))
    assert history.epoch_losses[-1] < 0.01 * history.epoch_losses[0]
    assert history.seconds > 0 and history.examples_per_second == pytest.approx(history.examples / history.seconds)
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[2.0, -1.0, 0.5]]), atol=0.05, rtol=0)
    assert model.training


def test_fit_sum_takes_batch_size_times_the_mean_step() -> None:
    X, y = linear_data(n=8)
    steps = {}
    for reduction in ("mean", "sum"):
        model = torch.nn.Linear(3, 1)
        with torch.no_grad():
            model.weight.zero_()
            model.bias.zero_()
        fit(model, [(X, y)], squared_errors, torch.optim.SGD(model.parameters(), lr=0.01), epochs=1,
            device=CPU, reduction=reduction, progress=False)
        steps[reduction] = model.weight.detach().clone()
    torch.testing.assert_close(steps["sum"], 8 * steps["mean"])


def test_fit_steps_the_scheduler_after_every_batch() -> None:
    X, y = linear_data(n=40)
    batches = [(X[i:i + 10], y[i:i + 10]) for i in range(0, 40, 10)]  # a plain list is re-iterable too
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    fit(model, batches, squared_errors, optimizer, epochs=3, device=CPU, scheduler=schedule, progress=False)
    assert schedule.last_epoch == 12
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1 / 13)


def test_fit_rejects_an_unknown_reduction() -> None:
    model = torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', not 'none'"):
        fit(model, [], squared_errors, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, device=CPU,
            reduction="none")


def test_fit_prints_one_line_per_epoch_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = linear_data(n=16)
    model = torch.nn.Linear(3, 1)
    history = fit(model, [(X, y)], squared_errors, torch.optim.SGD(model.parameters(), lr=0.01), epochs=2,
                  device=CPU, desc="regression")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"regression: epoch {i + 1}/2, mean loss {loss:.4f}" for i, loss in enumerate(history.epoch_losses)]


def test_history_defaults() -> None:
    history = History()
    assert (history.epoch_losses, history.examples, history.seconds, history.examples_per_second) == ([], 0, 0.0, 0.0)


def test_to_device() -> None:
    tensor = torch.ones(2)
    assert to_device(tensor, CPU) is tensor  # already there: no copy
    moved = to_device((tensor, [tensor, 3], "label"), CPU)
    assert isinstance(moved, tuple) and isinstance(moved[1], list)
    assert moved[1][1] == 3 and moved[2] == "label"
    assert torch.equal(moved[0], tensor) and moved[0].device.type == "cpu"
    assert to_device(None, CPU) is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_to_device_cuda() -> None:
    moved = to_device((torch.ones(2), [torch.zeros(1)]), torch.device("cuda"))
    assert moved[0].is_cuda and moved[1][0].is_cuda


def test_show_source() -> None:
    display = pytest.importorskip("IPython.display")  # GPU runners may have torch without Jupyter
    from nlpcourse.display import show_source

    shown = show_source(numerical_gradient)
    assert isinstance(shown, display.Markdown)
    assert shown.data.startswith("```python\ndef numerical_gradient(f: Callable")
    assert shown.data.rstrip().endswith("```")
    assert "return grad" in shown.data
    method = show_source(History.examples_per_second.fget)
    assert method.data.startswith("```python\n@property\ndef examples_per_second")  # dedented
