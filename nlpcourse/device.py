"""Device choice for notebooks: ``pick("auto")`` uses CUDA when present, else the CPU."""

from __future__ import annotations

import torch

_CHOICES = ("auto", "cpu", "cuda")


def pick(device: str = "auto") -> torch.device:
    """Return the torch device a notebook should use.

    ``"auto"`` picks ``cuda`` when a GPU is visible and ``cpu`` otherwise; ``"cpu"`` always works;
    ``"cuda"`` (or ``"cuda:N"``) raises a clear error on a machine without a GPU.
    """
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"DEVICE={device!r} was asked for, but no CUDA GPU is visible; use 'auto' or 'cpu'.")
        return torch.device(name)
    raise ValueError(f"unknown DEVICE {device!r}; choose one of {', '.join(_CHOICES)} (or 'cuda:N')")
