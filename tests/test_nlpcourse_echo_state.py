from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from nlpcourse.echo_state import Reservoir, fit_ridge, mackey_glass, nrmse, sparse_reservoir, spectral_radius


def test_mackey_glass_is_a_bounded_chaotic_signal() -> None:
    series = mackey_glass(3000)
    assert series.shape == (3000,)
    assert 0.3 < series.min() < 0.6 and 1.2 < series.max() < 1.4
    assert np.array_equal(series, mackey_glass(3000))  # no randomness
    assert np.array_equal(mackey_glass(500, discard=100), mackey_glass(600, discard=0)[100:])


def test_mackey_glass_follows_its_euler_steps() -> None:
    # x(t + dt) = x(t) + dt (beta x(t - tau) / (1 + x(t - tau)^10) - gamma x(t)), from x = 1.2 for t <= 0
    dt, tau = 0.5, 2.0
    history = [1.2] * 5  # x(-2), x(-1.5), ..., x(0)
    for _ in range(8):
        delayed, now = history[-5], history[-1]
        history.append(now + dt * (0.2 * delayed / (1 + delayed**10) - 0.1 * now))
    expected = history[6::2]  # x(1), x(2), x(3), x(4)
    series = mackey_glass(4, tau=tau, dt=dt, sample_every=1.0, discard=0)
    assert np.allclose(series, expected, rtol=0, atol=1e-15)


def test_mackey_glass_sampling_and_argument_checks() -> None:
    assert np.array_equal(mackey_glass(10, sample_every=2.0, discard=0), mackey_glass(20, discard=0)[1::2])
    with pytest.raises(ValueError, match="whole multiples"):
        mackey_glass(10, sample_every=0.25)
    with pytest.raises(ValueError, match="n_samples"):
        mackey_glass(0)


def test_sparse_reservoir_has_the_requested_radius_and_density() -> None:
    rng = np.random.default_rng(0)
    weights = sparse_reservoir(200, 0.9, density=0.05, rng=rng)
    assert weights.shape == (200, 200)
    assert np.isclose(spectral_radius(weights), 0.9)
    assert np.isclose(spectral_radius(weights), np.abs(np.linalg.eigvals(weights)).max())
    assert 0.04 < np.count_nonzero(weights) / weights.size < 0.06
    again = sparse_reservoir(200, 0.9, density=0.05, rng=np.random.default_rng(0))
    assert np.array_equal(weights, again)


def test_reservoir_run_applies_the_update_step_by_step() -> None:
    rng = np.random.default_rng(1)
    reservoir = Reservoir.random(30, 2, radius=0.8, rng=rng)
    assert reservoir.size == 30 and reservoir.input_weights.shape == (30, 2) and reservoir.bias.shape == (30,)
    inputs = rng.normal(size=(6, 2))
    start = rng.uniform(-1, 1, 30)
    states = reservoir.run(inputs, start)
    assert states.shape == (6, 30)
    x = start
    for t in range(6):
        x = np.tanh(reservoir.input_weights @ inputs[t] + reservoir.recurrent_weights @ x + reservoir.bias)
        assert np.allclose(states[t], x)
    single = Reservoir.random(10, radius=0.5, rng=rng)
    signal = rng.normal(size=7)
    assert np.array_equal(single.run(signal), single.run(signal[:, None]))
    with pytest.raises(ValueError, match="do not fit"):
        reservoir.run(signal)


def test_reservoir_forgets_its_initial_state() -> None:
    rng = np.random.default_rng(2)
    reservoir = Reservoir.random(100, radius=0.5, rng=rng)
    signal = np.sin(np.arange(300) / 5)
    first = reservoir.run(signal, rng.uniform(-1, 1, 100))
    second = reservoir.run(signal, rng.uniform(-1, 1, 100))
    assert np.abs(first[0] - second[0]).max() > 0.1
    assert np.abs(first[-1] - second[-1]).max() < 1e-10


@pytest.mark.parametrize("n_outputs", [None, 3])
def test_fit_ridge_matches_sklearn(n_outputs: int | None) -> None:
    rng = np.random.default_rng(3)
    states = rng.normal(size=(200, 40))
    shape = (200,) if n_outputs is None else (200, n_outputs)
    targets = rng.normal(size=shape) + 2.0
    weights, intercept = fit_ridge(states, targets, alpha=0.7)
    reference = Ridge(alpha=0.7).fit(states, targets)
    assert weights.shape == ((40,) if n_outputs is None else (40, n_outputs))
    assert np.allclose(weights, reference.coef_.T) and np.allclose(intercept, reference.intercept_)
    assert np.allclose(states @ weights + intercept, reference.predict(states))


def test_fit_ridge_without_penalty_is_least_squares() -> None:
    rng = np.random.default_rng(4)
    states = rng.normal(size=(50, 5))
    targets = states @ rng.normal(size=5) + 0.3
    weights, intercept = fit_ridge(states, targets, alpha=0.0)
    design = np.hstack([states, np.ones((50, 1))])
    solution = np.linalg.lstsq(design, targets, rcond=None)[0]
    assert np.allclose(weights, solution[:5]) and np.isclose(intercept, solution[5]) and np.isclose(intercept, 0.3)


def test_nrmse() -> None:
    targets = np.array([1.0, 2.0, 3.0, 4.0])
    assert nrmse(targets, targets) == 0.0
    assert np.isclose(nrmse(np.full(4, targets.mean()), targets), 1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        nrmse(targets[:3], targets)
