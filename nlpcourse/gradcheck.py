"""Numerical gradient checking for hand-written backward passes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of ``x``.

    ``x`` (any shape, float64 for a meaningful check) is changed in place during the loop and
    restored afterwards; the result has the shape of ``x``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = f(x)
        x[index] = original - eps
        below = f(x)
        x[index] = original
        grad[index] = (above - below) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / (||a|| + ||n||)`` over the whole array: about 1e-8 or less for a correct float64 gradient.

    Measured on the whole array rather than entry by entry, so that entries which are almost zero
    (a softmax probability of 1e-7, say) do not turn round-off into a large ratio. Two zero arrays
    have error 0.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"gradient shapes differ: {analytic.shape} vs {numeric.shape}")
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / scale) if scale > 0 else 0.0
