"""Training and evaluating question-answering models on bAbI tasks, with the paper's results to compare.

The recipe is Sukhbaatar et al. (2015), section 4.2: SGD with learning rate 0.01 halved every 25
epochs, batches of 32 with the loss summed over the batch, gradients clipped to norm 40, 10% of the
training questions held out for validation; optionally linear start (no softmax in the memory
reads and learning rate 0.005 until the validation loss stops falling) and random noise (10% empty
memories inserted into the training stories).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .babi import TASKS
from .memnet import add_empty_memories
from .qa_data import QATensors, TaskData, load_task_data
from .training import fit

# Test error (%) of the 1k-question tasks in Sukhbaatar et al. (2015), Table 1: the LSTM baseline and
# MemN2N with position encoding, linear start and random noise ("PE LS RN"), best of 10 runs per task.
PAPER_ERRORS = {
    "LSTM": (50.0, 80.0, 80.0, 39.0, 30.0, 52.0, 51.0, 55.0, 36.0, 56.0,
             38.0, 26.0, 6.0, 73.0, 79.0, 77.0, 49.0, 48.0, 92.0, 9.0),
    "MemN2N PE LS RN": (0.0, 8.3, 40.3, 2.8, 13.1, 7.6, 17.3, 10.0, 13.2, 15.1,
                        0.9, 0.2, 0.4, 1.7, 0.0, 1.3, 51.0, 11.1, 82.8, 0.0),
}
FAILED_ABOVE = 5.0  # the paper counts a task as failed above 5% test error


@dataclass
class QATrainingSettings:
    """How to train one model on one task (the paper's values by default)."""

    epochs: int = 100
    batch_size: int = 32
    optimizer: str = "sgd"  # or "adam"
    learning_rate: float = 0.01
    anneal_every: int = 25
    max_norm: float = 40.0
    linear_start: bool = True
    linear_start_learning_rate: float = 0.005
    noise: float = 0.1


@dataclass
class QAHistory:
    """Per-epoch training loss (mean per question), validation loss and validation error, and the
    epoch at which linear start ended (``None`` when it was not used or never ended)."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_error: list[float] = field(default_factory=list)
    linear_start_ended: int | None = None
    seconds: float = 0.0


@torch.no_grad()
def predict(model: nn.Module, data: QATensors, *, device: torch.device,
            batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The model's logits ``(N, V)``, predicted answer ids ``(N,)`` and attention ``(N, K, M)`` (or
    ``None``) for every question, in evaluation mode."""
    model.eval()
    logits, attention = [], []
    for start in range(0, len(data), batch_size):
        part = slice(start, start + batch_size)
        out, hops = model(data.stories[part].to(device), data.questions[part].to(device),
                          data.memory_mask[part].to(device))
        logits.append(out.cpu())
        if hops is not None:
            attention.append(hops.cpu())
    all_logits = torch.cat(logits)
    return all_logits, all_logits.argmax(1), torch.cat(attention) if attention else None


def loss_and_error(model: nn.Module, data: QATensors, *, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy per question and the share of questions answered wrongly, from one pass."""
    logits, predicted, _ = predict(model, data, device=device)
    return float(F.cross_entropy(logits, data.answers)), float((predicted != data.answers).float().mean())


def error_rate(model: nn.Module, data: QATensors, *, device: torch.device) -> float:
    """The share of questions answered wrongly."""
    return loss_and_error(model, data, device=device)[1]


def mean_loss(model: nn.Module, data: QATensors, *, device: torch.device) -> float:
    """Mean cross-entropy per question."""
    return loss_and_error(model, data, device=device)[0]


def attention_on_support(attention: torch.Tensor, supporting: Sequence[tuple[int, ...]], hop: int = 0) -> float:
    """The share of questions whose ``hop``'s attention ``(N, K, M)`` peaks on a supporting statement."""
    peaks = attention[:, hop].argmax(1).tolist()
    return float(np.mean([peak in slots for peak, slots in zip(peaks, supporting, strict=True)]))


def _training_batches(data: QATensors, batch_size: int, generator: torch.Generator) -> Callable[[], list]:
    def batches() -> list:
        order = torch.randperm(len(data), generator=generator)
        return [(data.stories[i], data.questions[i], data.answers[i], data.memory_mask[i])
                for i in order.split(batch_size)]
    return batches


def train_qa(model: nn.Module, data: TaskData, settings: QATrainingSettings, *, device: torch.device,
             seed: int = 0, progress: bool = True) -> QAHistory:
    """Train ``model`` (called as ``model(stories, questions, memory_mask) -> (logits, attention)``)
    on ``data.train`` with ``settings``; linear start needs a ``linear_start`` attribute on the model.

    Returns the per-epoch history; the model keeps its final parameters.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.to(device)
    linear = settings.linear_start
    if linear and not hasattr(model, "linear_start"):
        raise ValueError(f"linear start needs a model with a linear_start attribute, not {type(model).__name__}")
    if hasattr(model, "linear_start"):
        model.linear_start = linear
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.learning_rate) if settings.optimizer == "sgd" \
        else torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    history = QAHistory()
    make_batches = _training_batches(data.train, settings.batch_size, generator)

    def losses(model_: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        stories, questions, answers, mask = batch
        if settings.noise:
            stories, mask = add_empty_memories(stories, mask, settings.noise, generator)
        logits, _ = model_(stories, questions, mask)
        return F.cross_entropy(logits, answers, reduction="none")

    start = time.perf_counter()
    bar = tqdm(range(settings.epochs), desc=f"task {data.task}", disable=not progress, leave=False)
    for epoch in bar:
        annealed = settings.learning_rate * 0.5 ** (epoch // settings.anneal_every)
        for group in optimizer.param_groups:
            group["lr"] = settings.linear_start_learning_rate if linear else annealed
        run = fit(model, make_batches(), losses, optimizer, epochs=1, device=device,
                  reduction="sum" if settings.optimizer == "sgd" else "mean", max_norm=settings.max_norm,
                  progress=False)
        history.train_loss.append(run.epoch_losses[0])
        valid_loss, valid_error = loss_and_error(model, data.valid, device=device)
        history.valid_loss.append(valid_loss)
        history.valid_error.append(valid_error)
        if linear and len(history.valid_loss) > 1 and history.valid_loss[-1] >= history.valid_loss[-2]:
            linear = model.linear_start = False
            history.linear_start_ended = epoch + 1
        bar.set_postfix(valid_error=f"{history.valid_error[-1]:.3f}", refresh=False)
    if hasattr(model, "linear_start"):
        model.linear_start = False
    history.seconds = time.perf_counter() - start
    return history


@dataclass
class TaskResult:
    """One trained model's result on one task (errors as fractions)."""

    task: int
    test_error: float
    valid_error: float
    attention_on_support: float | None
    seconds: float


def run_task(task: int, build_model: Callable[[TaskData], nn.Module], settings: QATrainingSettings, *,
             device: torch.device, seed: int = 0, train_questions: int | None = None,
             progress: bool = True) -> tuple[TaskResult, nn.Module, TaskData]:
    """Load ``task``, build a model for it with ``build_model(data)``, train it and measure it."""
    data = load_task_data(task, seed=seed, train_questions=train_questions)
    torch.manual_seed(seed)
    model = build_model(data)
    history = train_qa(model, data, settings, device=device, seed=seed, progress=progress)
    _, predicted, attention = predict(model, data.test, device=device)
    support = None if attention is None else attention_on_support(attention, data.test.supporting)
    result = TaskResult(task, float((predicted != data.test.answers).float().mean()), history.valid_error[-1],
                        support, history.seconds)
    return result, model, data


def run_tasks(tasks: Sequence[int], build_model: Callable[[TaskData], nn.Module], settings: QATrainingSettings, *,
              device: torch.device, runs: int = 1, seed: int = 0, desc: str = "bAbI tasks") -> list[TaskResult]:
    """Train on each task ``runs`` times (seeds ``seed``, ``seed + 1``, ...) and keep, per task, the run
    with the lowest validation error (the paper's protocol with ``runs=10``)."""
    best = []
    for task in tqdm(tasks, desc=desc):
        results = [run_task(task, build_model, settings, device=device, seed=seed + run, progress=False)[0]
                   for run in range(runs)]
        best.append(min(results, key=lambda result: result.valid_error))
    return best


def error_table(results: dict[str, Sequence[TaskResult]], paper: Sequence[str] = tuple(PAPER_ERRORS)) -> str:
    """A markdown table of test errors (%) per task for each named run and the paper's columns, with
    the mean and the number of failed tasks (error above 5%) over the tasks that every run covers."""
    tasks = sorted(set.intersection(*(set(r.task for r in rows) for rows in results.values())))
    columns = {name: {r.task: 100 * r.test_error for r in rows} for name, rows in results.items()}
    columns.update({f"paper {name}": dict(zip(TASKS, PAPER_ERRORS[name], strict=True)) for name in paper})
    lines = ["| task | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for task in tasks:
        lines.append(f"| {task} {TASKS[task]} | " + " | ".join(f"{col[task]:.1f}" for col in columns.values()) + " |")
    means = [np.mean([col[t] for t in tasks]) for col in columns.values()]
    failed = [sum(col[t] > FAILED_ABOVE for t in tasks) for col in columns.values()]
    lines.append("| **mean** | " + " | ".join(f"**{m:.1f}**" for m in means) + " |")
    lines.append("| **failed (> 5%)** | " + " | ".join(f"**{f}**" for f in failed) + " |")
    return "\n".join(lines)


def plot_hop_attention(attention: torch.Tensor, story: Sequence[str], supporting: Sequence[int],
                       ax: Axes | None = None) -> Axes:
    """Heat-map of one question's attention ``(K, M)`` (slot 0 most recent) over its story, oldest
    statement at the top as in the file, supporting statements marked with a star."""
    weights = attention[:, :len(story)].flip(1).T.numpy()  # (statements, K), oldest first
    ax = ax or plt.subplots(figsize=(2 + attention.shape[0], 0.35 * len(story) + 1))[1]
    ax.imshow(weights, cmap="Blues", vmin=0, aspect="auto")
    oldest_first = {len(story) - 1 - slot for slot in supporting}
    ax.set_yticks(range(len(story)), [("* " if i in oldest_first else "") + s for i, s in enumerate(story)])
    ax.set_xticks(range(attention.shape[0]), [f"hop {k + 1}" for k in range(attention.shape[0])])
    for (row, col), value in np.ndenumerate(weights):
        ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                color="white" if value > 0.5 * weights.max() else "black")
    return ax
