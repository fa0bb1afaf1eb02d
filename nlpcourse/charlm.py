"""Character-level language models on Tiny Shakespeare: data, batching, truncated BPTT and sampling.

A model here is any ``nn.Module`` called as ``model(inputs, state) -> (logits, state)`` with
``inputs`` of shape ``(B, T)`` (character ids), ``logits`` of shape ``(B, T, V)`` and ``state`` whatever
the recurrence carries (``None`` to start from zeros). The assignment's hand-written ``CharRNN`` and
:class:`CharLanguageModel` (built on ``nn.RNN``/``nn.GRU``/``nn.LSTM``) both follow it, so the same
evaluation, training and sampling code serves both.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from nlpcourse.data import verified_path

SHAKESPEARE_FILE = "tinyshakespeare/input.txt"
CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def load_shakespeare() -> str:
    """The Tiny Shakespeare text (1,115,394 characters, 65 distinct), checked against ``data/SHA256SUMS``."""
    return verified_path(SHAKESPEARE_FILE).read_text(encoding="ascii")


@dataclass(frozen=True)
class CharVocabulary:
    """The characters of a text in sorted order; a character's id is its position."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """``(len(text),)`` int64 ids; a character outside the vocabulary raises a ``KeyError`` naming it."""
        index = {char: i for i, char in enumerate(self.chars)}
        missing = sorted(set(text) - index.keys())
        if missing:
            raise KeyError(f"characters not in the vocabulary: {missing!r}")
        return torch.tensor([index[char] for char in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """The text of a sequence of ids (a list or a 1-D tensor)."""
        return "".join(self.chars[int(i)] for i in ids)


def words_of(text: str) -> list[str]:
    """The words of a text: runs of letters and apostrophes, case kept (``"Thou'rt"`` is one word)."""
    return re.findall(r"[A-Za-z']+", text)


def known_word_share(generated: str, known_words: set[str]) -> float:
    """The share of the words of ``generated`` that are in ``known_words`` (0 when it has no words).

    A rough measure of sampled text: with ``known_words = set(words_of(train_text))`` it tells how
    much of what a model writes is spelt like the training text.
    """
    words = words_of(generated)
    return sum(word in known_words for word in words) / len(words) if words else 0.0


def unigram_cross_entropy(train_ids: torch.Tensor, valid_ids: torch.Tensor, vocab_size: int,
                          smoothing: float = 0.0) -> float:
    """Nats per character on ``valid_ids`` of a model that ignores context: the character frequencies of
    ``train_ids`` (both 1-D), with ``smoothing`` added to every count (a character unseen in training
    gets infinite loss without it)."""
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + smoothing  # (V,)
    return float(-(counts / counts.sum()).log()[valid_ids].mean())


def split_by_position(sequence, train_fraction: float = 0.9):
    """The first ``train_fraction`` of a sequence (text or tensor) for training, the rest for validation.

    Splitting by position, not at random, keeps the validation text unseen: neighbouring characters
    are never split between the two parts except at the one cut.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie strictly between 0 and 1, not {train_fraction}")
    cut = int(len(sequence) * train_fraction)
    return sequence[:cut], sequence[cut:]


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a stream of ``L`` ids into ``batch_size`` contiguous rows, shape ``(B, L // B)``.

    Row ``b`` holds ``ids[b * n:(b + 1) * n]``; the last ``L mod B`` ids are dropped. Column ``t + 1``
    continues column ``t`` in every row, so a hidden state carried from one chunk of columns to the
    next keeps reading the same text: this is what makes truncated BPTT see long contexts.
    """
    if ids.dim() != 1:
        raise ValueError(f"expected a 1-D stream of ids, got shape {tuple(ids.shape)}")
    length = ids.numel() // batch_size
    if length < 2:
        raise ValueError(f"{ids.numel()} ids are too few for {batch_size} rows of at least 2")
    return ids[: length * batch_size].view(batch_size, length)


def chunks(streams: torch.Tensor, seq_len: int):
    """Yield ``(inputs, targets)`` windows of ``streams`` ``(B, L)`` from left to right.

    Both are ``(B, T)`` with ``T <= seq_len``; ``targets`` is ``inputs`` shifted one step to the
    left, the next character at every position.
    """
    for start in range(0, streams.size(1) - 1, seq_len):
        end = min(start + seq_len, streams.size(1) - 1)
        yield streams[:, start:end], streams[:, start + 1:end + 1]


def detach_state(state):
    """Cut the graph behind a recurrent state (a tensor, a tuple of tensors, or ``None``)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(part.detach() for part in state)
    return state.detach()


def set_forget_bias(lstm: nn.LSTM, value: float) -> None:
    """Fill the forget-gate part of ``bias_ih`` of every layer and direction of ``lstm`` with ``value``.

    PyTorch orders an LSTM's gates ``i, f, g, o``, so rows ``H:2H`` of ``bias_ih_l*`` ``(4H,)`` belong to
    the forget gate. The gate sees ``bias_ih + bias_hh``; ``bias_hh`` keeps its small random start
    (uniform in ``+-1/sqrt(H)``), so ``value`` is the mean forget bias.
    """
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"set_forget_bias needs an nn.LSTM, not {type(lstm).__name__}")
    size = lstm.hidden_size
    with torch.no_grad():
        for name, bias in lstm.named_parameters():
            if name.startswith("bias_ih"):
                bias[size:2 * size].fill_(value)


class CharLanguageModel(nn.Module):
    """Embedding -> ``nn.RNN``/``nn.GRU``/``nn.LSTM`` -> linear read-out, one prediction per character."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        cell: str = "rnn",
        embedding_dim: int = 64,
        num_layers: int = 1,
        forget_bias: float | None = None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {cell!r}")
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.recurrent = CELLS[cell](embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.readout = nn.Linear(hidden_size, vocab_size)
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError("forget_bias applies to the LSTM only")
            set_forget_bias(self.recurrent, forget_bias)

    def hidden_states(self, inputs: torch.Tensor, state=None):
        """Top-layer hidden state at every step, ``(B, T, H)``, and the final state."""
        return self.recurrent(self.embedding(inputs), state)

    def forward(self, inputs: torch.Tensor, state=None):
        """``inputs`` ``(B, T)`` -> logits ``(B, T, V)`` and the state after the last step."""
        hidden, state = self.hidden_states(inputs, state)
        return self.readout(hidden), state


@torch.no_grad()
def evaluate(model: nn.Module, streams: torch.Tensor, seq_len: int, device: torch.device) -> float:
    """Mean cross-entropy in nats per character over every next-character prediction in ``streams``.

    The state is carried from chunk to chunk, as in training, so each row is read as one long text.
    """
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for inputs, targets in chunks(streams.to(device), seq_len):
        logits, state = model(inputs, state)
        total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum"))
        count += targets.numel()
    model.train(was_training)
    return total / count


def tbptt_step(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    state,
    optimizer: torch.optim.Optimizer,
    max_norm: float | None,
    *,
    step_when_finite_only: bool = False,
):
    """One truncated-BPTT update on a window: ``inputs``/``targets`` ``(B, T)``, ``state`` from the last window.

    The state is detached before use, the mean cross-entropy back-propagated, the gradient clipped
    to global norm ``max_norm`` (``None``: not clipped) and the optimizer stepped (unless
    ``step_when_finite_only`` and the loss or norm is not finite). Returns the loss (nats/char), the
    gradient norm before clipping and the state to carry into the next window.
    """
    logits, state = model(inputs, detach_state(state))
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = float(nn.utils.clip_grad_norm_(model.parameters(), math.inf if max_norm is None else max_norm))
    loss_value = float(loss.detach())
    if not step_when_finite_only or (math.isfinite(loss_value) and math.isfinite(norm)):
        optimizer.step()
    return loss_value, norm, state


@dataclass
class LanguageModelHistory:
    """Mean training loss of each epoch, validation loss after each epoch (nats/char) and time spent."""

    train_losses: list[float] = field(default_factory=list)
    valid_losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def fit_tbptt(
    model: nn.Module,
    train_streams: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    seq_len: int,
    epochs: int,
    device: torch.device,
    max_norm: float | None = 1.0,
    valid_streams: torch.Tensor | None = None,
    desc: str = "training",
    progress: bool = True,
) -> LanguageModelHistory:
    """Train with truncated backpropagation through time (역전파 절단).

    Each epoch walks ``train_streams`` ``(B, L)`` left to right in chunks of ``seq_len`` columns. The
    state reaching the end of one chunk starts the next one (so the model sees long contexts) but is
    detached (so gradients flow back at most ``seq_len`` steps). The gradient is clipped to global
    norm ``max_norm`` before each step. ``history.seconds`` is cumulative, one entry per epoch.
    """
    model.to(device).train()
    streams = train_streams.to(device)
    history = LanguageModelHistory()
    start = time.perf_counter()
    steps = math.ceil((streams.size(1) - 1) / seq_len)
    for epoch in range(epochs):
        total, count, state = 0.0, 0, None
        bar = tqdm(chunks(streams, seq_len), total=steps, desc=f"{desc} {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for inputs, targets in bar:
            loss, _, state = tbptt_step(model, inputs, targets, state, optimizer, max_norm)
            total += loss * targets.numel()
            count += targets.numel()
            bar.set_postfix(loss=f"{total / count:.3f}", refresh=False)
        history.train_losses.append(total / count)
        if valid_streams is not None:
            history.valid_losses.append(evaluate(model, valid_streams, seq_len, device))
        history.seconds.append(time.perf_counter() - start)
        if progress:
            valid = f", validation {history.valid_losses[-1]:.3f}" if history.valid_losses else ""
            print(f"{desc}: epoch {epoch + 1}/{epochs}, train {history.train_losses[-1]:.3f}{valid} nats/char")
    return history


@torch.no_grad()
def sample(
    model: nn.Module,
    vocabulary: CharVocabulary,
    prefix: str,
    n: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> str:
    """Read ``prefix``, then draw ``n`` characters one at a time, each fed back as the next input.

    Each draw is from ``softmax(logits / temperature)``: below 1 sharpens the distribution towards
    the most likely character, above 1 flattens it. Returns the ``n`` new characters only.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, not {temperature}")
    if not prefix:
        raise ValueError("sampling needs a non-empty prefix to start from")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, state = model(vocabulary.encode(prefix).to(device)[None], None)
    drawn = []
    for _ in range(n):
        probabilities = F.softmax(logits[0, -1].double() / temperature, dim=-1).cpu()
        next_id = torch.multinomial(probabilities, 1, generator=generator)
        drawn.append(int(next_id))
        logits, state = model(next_id.to(device)[None], state)
    model.train(was_training)
    return vocabulary.decode(drawn)
