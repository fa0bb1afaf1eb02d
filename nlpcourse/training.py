"""A small training loop with a progress bar, shared by every model the course trains."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm


@dataclass
class History:
    """Mean loss per example for each epoch, with the examples seen and the seconds spent."""

    epoch_losses: list[float] = field(default_factory=list)
    examples: int = 0
    seconds: float = 0.0

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def to_device(batch, device: torch.device):
    """Move a tensor, or a tuple/list of tensors, to ``device`` (other values pass through)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(item, device) for item in batch)
    return batch


def fit(
    model: torch.nn.Module,
    batches: Iterable,
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device,
    reduction: str = "mean",
    max_norm: float | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    desc: str = "training",
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches`` (a DataLoader or any re-iterable).

    ``loss_fn(model, batch)`` gets each batch already on ``device`` and returns the loss of every
    example, shape ``(N,)`` (one per sentence, or one per target token). Their ``"mean"`` or ``"sum"``
    is back-propagated (``"sum"`` gives each example the full learning rate, as word2vec's per-pair
    SGD does); gradients are clipped to total norm ``max_norm`` when it is given, and
    ``scheduler.step()``, when given, runs after every batch. The progress bar shows the running mean loss.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    model.to(device).train()
    history = History()
    start = time.perf_counter()
    for epoch in range(epochs):
        total, seen = 0.0, 0
        bar = tqdm(batches, desc=f"{desc} {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for batch in bar:
            losses = loss_fn(model, to_device(batch, device))
            loss = losses.sum() if reduction == "sum" else losses.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += float(losses.detach().sum())
            seen += losses.numel()
            bar.set_postfix(loss=f"{total / max(seen, 1):.4f}", refresh=False)
        history.epoch_losses.append(total / max(seen, 1))
        history.examples += seen
        if progress:
            print(f"{desc}: epoch {epoch + 1}/{epochs}, mean loss {history.epoch_losses[-1]:.4f}")
    history.seconds = time.perf_counter() - start
    return history
