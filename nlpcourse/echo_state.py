"""Echo state networks (reservoir computing): a fixed random recurrent network and a trained linear read-out.

The recurrent part, the *reservoir*, is drawn once and never trained:

    x(t) = tanh(W_in u(t) + W x(t-1) + b),

with ``W`` sparse and scaled to a chosen spectral radius. Only the read-out ``y(t) = W_out x(t) + c``
is fitted, by ridge regression in closed form (:func:`fit_ridge`). :func:`mackey_glass` makes the
classic test signal. Everything is NumPy, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlpcourse.gradient_flow import spectral_radius

__all__ = ["Reservoir", "fit_ridge", "mackey_glass", "nrmse", "sparse_reservoir", "spectral_radius"]


def mackey_glass(
    n_samples: int,
    *,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    power: float = 10.0,
    dt: float = 0.1,
    sample_every: float = 1.0,
    initial: float = 1.2,
    discard: int = 1000,
) -> np.ndarray:
    r"""Samples of the Mackey-Glass delay differential equation, shape ``(n_samples,)``.

    .. math:: \frac{dx}{dt} = \beta \frac{x(t - \tau)}{1 + x(t - \tau)^{n}} - \gamma\, x(t)

    integrated by Euler steps of ``dt`` from the constant history ``x = initial`` and sampled every
    ``sample_every`` time units. The first ``discard`` samples (the transient away from the constant
    history) are dropped. With ``tau = 17`` the series is chaotic; it stays within about 0.4 to 1.35.
    """
    if n_samples < 1 or discard < 0:
        raise ValueError(f"need n_samples >= 1 and discard >= 0, not {n_samples} and {discard}")
    steps_per_sample = round(sample_every / dt)
    delay = round(tau / dt)
    if steps_per_sample < 1 or delay < 1 or not np.isclose(steps_per_sample * dt, sample_every) \
            or not np.isclose(delay * dt, tau):
        raise ValueError(f"sample_every ({sample_every}) and tau ({tau}) must be whole multiples of dt ({dt})")
    total = (n_samples + discard) * steps_per_sample
    x = np.empty(delay + 1 + total)  # x[i] is x at time (i - delay) dt; x[:delay + 1] is the history
    x[: delay + 1] = initial
    for i in range(delay, delay + total):
        delayed = x[i - delay]
        x[i + 1] = x[i] + dt * (beta * delayed / (1.0 + delayed**power) - gamma * x[i])
    samples = x[delay + steps_per_sample::steps_per_sample]  # times sample_every, 2 sample_every, ...
    return samples[discard:discard + n_samples].copy()


def sparse_reservoir(
    size: int,
    radius: float,
    *,
    density: float = 0.1,
    rng: np.random.Generator,
) -> np.ndarray:
    """A random ``(size, size)`` recurrent matrix with spectral radius ``radius``.

    Each entry is non-zero with probability ``density``, uniform in ``[-1, 1]`` when it is; the
    matrix is then divided by its own spectral radius and multiplied by ``radius``.
    """
    if size < 1 or not 0.0 < density <= 1.0 or radius < 0:
        raise ValueError(f"need size >= 1, 0 < density <= 1 and radius >= 0, not {size}, {density}, {radius}")
    weights = rng.uniform(-1.0, 1.0, (size, size)) * (rng.random((size, size)) < density)
    current = spectral_radius(weights)
    if current == 0.0:
        raise ValueError(f"the random matrix is nilpotent (density {density} is too low for size {size})")
    return weights * (radius / current)


@dataclass(frozen=True)
class Reservoir:
    """The fixed part of an echo state network: ``x(t) = tanh(W_in u(t) + W x(t-1) + b)``.

    ``input_weights`` is ``W_in`` ``(N, I)``, ``recurrent_weights`` is ``W`` ``(N, N)`` and ``bias`` is
    ``b`` ``(N,)``, for ``N`` reservoir units and ``I`` inputs.
    """

    input_weights: np.ndarray
    recurrent_weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def random(
        cls,
        size: int,
        n_inputs: int = 1,
        *,
        radius: float = 0.9,
        density: float = 0.1,
        input_scale: float = 0.5,
        bias_scale: float = 0.2,
        rng: np.random.Generator,
    ) -> Reservoir:
        """Draw ``W`` with :func:`sparse_reservoir`, and ``W_in`` and ``b`` uniform in ``[-scale, scale]``."""
        recurrent = sparse_reservoir(size, radius, density=density, rng=rng)
        return cls(
            input_weights=rng.uniform(-input_scale, input_scale, (size, n_inputs)),
            recurrent_weights=recurrent,
            bias=rng.uniform(-bias_scale, bias_scale, size),
        )

    @property
    def size(self) -> int:
        """``N``, the number of reservoir units."""
        return self.recurrent_weights.shape[0]

    def run(self, inputs: np.ndarray, initial_state: np.ndarray | None = None) -> np.ndarray:
        """The states ``x(1), ..., x(T)``, shape ``(T, N)``, driven by ``inputs`` ``(T, I)``.

        ``inputs`` may also be ``(T,)`` when ``I = 1``. ``initial_state`` is ``x(0)``, shape ``(N,)``;
        zeros when ``None``.
        """
        inputs = np.asarray(inputs, dtype=float)
        if inputs.ndim == 1:
            inputs = inputs[:, None]
        if inputs.ndim != 2 or inputs.shape[1] != self.input_weights.shape[1]:
            raise ValueError(f"inputs of shape {inputs.shape} do not fit W_in of shape {self.input_weights.shape}")
        drive = inputs @ self.input_weights.T + self.bias  # W_in u(t) + b for every t at once; (T, N)
        state = np.zeros(self.size) if initial_state is None else np.asarray(initial_state, dtype=float)
        states = np.empty((len(inputs), self.size))
        for t in range(len(inputs)):
            state = np.tanh(drive[t] + self.recurrent_weights @ state)
            states[t] = state
        return states


def fit_ridge(states: np.ndarray, targets: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression in closed form with an unpenalised intercept, as ``sklearn.linear_model.Ridge``.

    With ``X`` = ``states`` ``(T, N)`` and ``Y`` = ``targets`` ``(T, K)`` (or ``(T,)``) centred by their
    column means, ``W = (X^T X + alpha I)^{-1} X^T Y`` ``(N, K)`` and ``c = mean(Y) - mean(X) W`` ``(K,)``;
    predictions are ``states @ W + c``. For 1-D targets ``W`` is ``(N,)`` and ``c`` a 0-d array.
    """
    states = np.asarray(states, dtype=float)
    targets = np.asarray(targets, dtype=float)
    if states.ndim != 2 or len(states) != len(targets):
        raise ValueError(f"need states (T, N) and targets (T, ...) of equal T, not {states.shape} and {targets.shape}")
    state_mean, target_mean = states.mean(axis=0), targets.mean(axis=0)
    centred_states, centred_targets = states - state_mean, targets - target_mean
    gram = centred_states.T @ centred_states + alpha * np.eye(states.shape[1])  # (N, N)
    weights = np.linalg.solve(gram, centred_states.T @ centred_targets)       # (N, K) or (N,)
    return weights, target_mean - state_mean @ weights


def nrmse(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Root mean squared error divided by the standard deviation of ``targets`` (both of the same shape).

    0 is a perfect prediction; 1 is no better than always predicting the mean of the targets.
    """
    predictions, targets = np.asarray(predictions, dtype=float), np.asarray(targets, dtype=float)
    if predictions.shape != targets.shape:
        raise ValueError(f"shapes differ: predictions {predictions.shape}, targets {targets.shape}")
    return float(np.sqrt(np.mean((predictions - targets) ** 2)) / np.std(targets))
