"""Sequence-to-sequence translation with GRUs, with or without attention, and its decoding and evaluation.

The encoder is an embedding and a (bidirectional) ``nn.GRU`` over the padded source; it hands the
decoder an :class:`EncoderMemory`: the output at every source position, a mask of the real
positions, the top layer's final state (the fixed sentence summary ``c``) and the initial decoder
state. The decoder is a GRU started from ``c`` that reads ``embedding(y_{t-1})`` at each step (and
``c`` too with ``feed_summary``, as in Cho et al. 2014). Without attention its top-layer state ``s_t``
gives the logits (Sutskever et al. 2014); with attention the context ``c_t``, the mean of the encoder
outputs weighted by ``softmax(score(s_t, outputs))`` over the real source positions, is combined with
it, ``h~_t = tanh(W_c [c_t; s_t])``, and ``h~_t`` gives the logits (Luong et al. 2015; the additive
score is Bahdanau et al. 2015's).

Decoding (:func:`greedy_decode`, :func:`beam_search`) needs only ``model.encode(source, lengths)``
returning an :class:`EncoderMemory` and ``model.decoder.step(previous, state, memory)``, so any model
with that interface, hand-built ones included, can be decoded and compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .sequence_tasks import pad_batch
from .training import History, fit
from .translation import BOS_ID, EOS_ID, PAD_ID, SentencePair, TranslationData, collate_pairs, corpus_bleu

SCORE_KINDS = ("dot", "general", "additive")
SOURCE_LENGTH_EDGES = (1, 6, 8, 10)  # buckets of 1-5, 6-7 and 8-9 source words, punctuation included


def dot_scores(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Luong's "dot" score ``q . k_j``: ``query (B, H)``, ``keys (B, S, H)`` -> ``(B, S)``."""
    return torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1)


class DotScore(nn.Module):
    """:func:`dot_scores` as a module without parameters, so that every score is called alike."""

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``query (B, H)``, ``keys (B, S, H)`` -> scores ``(B, S)``."""
        return dot_scores(query, keys)


class GeneralScore(nn.Module):
    """Luong's "general" score ``q^T W k_j``, with ``W`` of shape ``(query_size, key_size)``."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_projection = nn.Linear(key_size, query_size, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``query (B, Hq)``, ``keys (B, S, Hk)`` -> scores ``(B, S)``."""
        return dot_scores(query, self.key_projection(keys))


class AdditiveScore(nn.Module):
    """Bahdanau's additive score ``v^T tanh(W_q q + W_k k_j + b)``, a one-hidden-layer network of both."""

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.query_projection = nn.Linear(query_size, attention_size, bias=False)
        self.key_projection = nn.Linear(key_size, attention_size)
        self.score_vector = nn.Linear(attention_size, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``query (B, Hq)``, ``keys (B, S, Hk)`` -> scores ``(B, S)``."""
        hidden = torch.tanh(self.query_projection(query).unsqueeze(1) + self.key_projection(keys))  # (B, S, A)
        return self.score_vector(hidden).squeeze(-1)


def make_score(kind: str, query_size: int, key_size: int, attention_size: int | None = None) -> nn.Module:
    """The score module named ``kind``: ``"dot"``, ``"general"`` or ``"additive"``.

    ``"dot"`` needs ``query_size == key_size``; ``attention_size`` is the hidden size of the additive
    score (``query_size`` when ``None``) and is not used by the other two.
    """
    if kind == "dot":
        if query_size != key_size:
            raise ValueError(f"dot scores need queries and keys of one size, not {query_size} and {key_size}")
        return DotScore()
    if kind == "general":
        return GeneralScore(query_size, key_size)
    if kind == "additive":
        return AdditiveScore(query_size, key_size, attention_size or query_size)
    raise ValueError(f"attention score must be one of {', '.join(SCORE_KINDS)}, not {kind!r}")


def attend(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    score: nn.Module,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of one query per row over ``S`` positions.

    Args:
        query: ``(B, Hq)``; keys: ``(B, S, Hk)``; values: ``(B, S, Dv)``.
        mask: ``(B, S)`` bool, True at the real positions (at least one per row).
        score: a module ``score(query, keys) -> (B, S)``, e.g. from :func:`make_score`.

    Returns:
        context ``(B, Dv)``, the weighted mean of the values, and the weights ``(B, S)``: the softmax
        of the scores over the real positions, exactly 0 at the masked ones (their scores are set to
        ``-inf`` before the softmax).
    """
    scores = score(query, keys).masked_fill(~mask, float("-inf"))
    weights = F.softmax(scores, dim=-1)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


@dataclass
class EncoderMemory:
    """What the encoder hands the decoder for a batch of ``B`` sources of up to ``S`` positions.

    outputs: ``(B, S, H)`` the encoder output at every position, 0 at padding.
    mask: ``(B, S)`` bool, True at the real positions.
    summary: ``(B, H)`` the top layer's final state, the fixed context ``c`` of the decoder.
    initial_state: ``(L, B, H)`` the decoder's initial state, one row per layer.
    """

    outputs: torch.Tensor
    mask: torch.Tensor
    summary: torch.Tensor
    initial_state: torch.Tensor

    def repeat(self, k: int) -> EncoderMemory:
        """Every row repeated ``k`` times in a row (rows ``0, 0, ..., 1, 1, ...``), as a beam needs."""
        return EncoderMemory(self.outputs.repeat_interleave(k, dim=0), self.mask.repeat_interleave(k, dim=0),
                             self.summary.repeat_interleave(k, dim=0), self.initial_state.repeat_interleave(k, dim=1))


class Encoder(nn.Module):
    """Embedding -> (bidirectional) ``nn.GRU`` over the real positions of each padded source.

    ``output_size`` is ``hidden_size`` times the number of directions: the size of each output and of
    each layer's final state, the forward direction's half first. ``dropout`` applies to the embeddings
    and between GRU layers.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.directions
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.recurrent = nn.GRU(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)

    def forward(self, source: torch.Tensor, lengths: torch.Tensor) -> EncoderMemory:
        """``source (B, S)`` ids padded on the right, ``lengths (B,)`` -> the :class:`EncoderMemory`.

        The GRU runs over packed sequences, so padding changes neither the outputs nor the final states.
        """
        batch, positions = source.shape
        packed = pack_padded_sequence(self.dropout(self.embedding(source)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        packed_outputs, final = self.recurrent(packed)  # final: (L * directions, B, hidden)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=positions)
        by_layer = final.view(self.num_layers, self.directions, batch, -1)
        initial_state = torch.cat(by_layer.unbind(1), dim=-1)  # (L, B, output_size), forward half first
        mask = torch.arange(positions, device=source.device) < lengths.to(source.device).unsqueeze(1)
        return EncoderMemory(outputs, mask, initial_state[-1], initial_state)


class Decoder(nn.Module):
    """A GRU decoder started from the encoder's summary ``c``, with an optional attention layer.

    ``hidden_size`` and ``num_layers`` must equal the encoder's ``output_size`` and ``num_layers``.
    Without attention (``attention=None``) the next word's logits are ``W_o s_t`` (Sutskever et al.
    2014); with a kind for :func:`make_score` they are ``W_o tanh(W_c [c_t; s_t])``, ``c_t`` the
    attention context (Luong et al. 2015). ``feed_summary`` also feeds ``c`` to the GRU at every step
    (Cho et al. 2014). ``dropout`` applies to the embeddings, between GRU layers and before ``W_o``.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1,
                 attention: str | None = None, attention_size: int | None = None, dropout: float = 0.0,
                 feed_summary: bool = False) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.feed_summary = feed_summary
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.recurrent = nn.GRU(embedding_dim + (hidden_size if feed_summary else 0), hidden_size,
                                num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.score = None if attention is None else make_score(attention, hidden_size, hidden_size, attention_size)
        self.combine = None if attention is None else nn.Linear(2 * hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, vocab_size)

    def step(self, previous: torch.Tensor, state: torch.Tensor,
             memory: EncoderMemory) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One decoding step from the previous ids ``(B,)`` and state ``(L, B, H)``.

        Returns the logits ``(B, V)`` of the next word, the new state ``(L, B, H)`` and the attention
        weights ``(B, S)`` (``None`` without attention).
        """
        inputs = self.dropout(self.embedding(previous))  # (B, E)
        if self.feed_summary:
            inputs = torch.cat([inputs, memory.summary], dim=-1)  # (B, E + H)
        top, state = self.recurrent(inputs.unsqueeze(1), state)
        top = top.squeeze(1)  # s_t, (B, H)
        if self.score is None:
            return self.output(self.dropout(top)), state, None
        context, weights = attend(top, memory.outputs, memory.outputs, memory.mask, self.score)
        attentional = torch.tanh(self.combine(torch.cat([context, top], dim=-1)))  # h~_t, (B, H)
        return self.output(self.dropout(attentional)), state, weights

    def forward(self, decoder_inputs: torch.Tensor,
                memory: EncoderMemory) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: ``decoder_inputs (B, T)`` -> logits ``(B, T, V)`` and weights ``(B, T, S)`` or ``None``."""
        state = memory.initial_state
        logits, weights = [], []
        for previous in decoder_inputs.unbind(1):
            step_logits, state, step_weights = self.step(previous, state, memory)
            logits.append(step_logits)
            weights.append(step_weights)
        return torch.stack(logits, dim=1), None if self.score is None else torch.stack(weights, dim=1)


def reverse_words(source: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row of ``source (B, S)`` with its first ``length - 1`` ids reversed: the last real id (the
    end id) stays last and the padding stays on the right."""
    positions = torch.arange(source.size(1), device=source.device).unsqueeze(0)  # (1, S)
    words = lengths.to(source.device).unsqueeze(1) - 1  # (B, 1), the position of the end id
    return source.gather(1, torch.where(positions < words, words - 1 - positions, positions))


class Seq2Seq(nn.Module):
    """An :class:`Encoder` and a :class:`Decoder`; ``reverse_source`` reads each source backwards
    (Sutskever et al. 2014), its end id still last."""

    def __init__(self, encoder: Encoder, decoder: Decoder, reverse_source: bool = False) -> None:
        super().__init__()
        if (encoder.output_size, encoder.num_layers) != (decoder.hidden_size, decoder.num_layers):
            raise ValueError(f"the decoder needs the encoder's size and layers: encoder {encoder.output_size} x "
                             f"{encoder.num_layers}, decoder {decoder.hidden_size} x {decoder.num_layers}")
        self.encoder = encoder
        self.decoder = decoder
        self.reverse_source = reverse_source

    def encode(self, source: torch.Tensor, lengths: torch.Tensor) -> EncoderMemory:
        """``source (B, S)``, ``lengths (B,)`` -> the :class:`EncoderMemory` (of the reversed words when asked)."""
        if self.reverse_source:
            source = reverse_words(source, lengths)
        return self.encoder(source, lengths)

    def forward(self, source: torch.Tensor, lengths: torch.Tensor, decoder_inputs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)`` for ``decoder_inputs (B, T)``."""
        logits, _ = self.decoder(decoder_inputs, self.encode(source, lengths))
        return logits


def build_seq2seq(source_vocab_size: int, target_vocab_size: int, *, embedding_dim: int = 128,
                  hidden_size: int = 256, num_layers: int = 1, bidirectional: bool = True,
                  attention: str | None = None, reverse_source: bool = False, dropout: float = 0.0,
                  feed_summary: bool = False) -> Seq2Seq:
    """A :class:`Seq2Seq` whose decoder has ``hidden_size`` units; each encoder direction has
    ``hidden_size // 2`` when ``bidirectional``, so that their concatenation fits the decoder."""
    directions = 2 if bidirectional else 1
    if hidden_size % directions:
        raise ValueError(f"a bidirectional encoder needs an even hidden_size, not {hidden_size}")
    encoder = Encoder(source_vocab_size, embedding_dim, hidden_size // directions, num_layers, bidirectional, dropout)
    decoder = Decoder(target_vocab_size, embedding_dim, hidden_size, num_layers, attention, dropout=dropout,
                      feed_summary=feed_summary)
    return Seq2Seq(encoder, decoder, reverse_source)


def token_losses(model: Seq2Seq, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Cross-entropy ``(N,)`` of each of the ``N`` non-padding target tokens of a :func:`collate_pairs`
    batch under teacher forcing; their mean is the loss per token."""
    source, lengths, decoder_inputs, decoder_targets = batch
    logits = model(source, lengths, decoder_inputs)
    real = decoder_targets != PAD_ID
    return F.cross_entropy(logits[real], decoder_targets[real], reduction="none")


@torch.no_grad()
def greedy_decode(model: nn.Module, source: torch.Tensor, lengths: torch.Tensor,
                  max_length: int = 20) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Translate a batch by feeding back the most likely word at each step, starting from the begin id.

    ``source (B, S)`` and ``lengths (B,)`` on the model's device; the training/evaluation mode is
    the caller's. Decoding stops once every row has emitted the end id, or after ``max_length`` steps.

    Returns:
        tokens ``(B, T)`` int64 with ``T <= max_length``: each row's words and its end id, then the
        padding id; weights ``(B, T, S)``, 0 after a row's end, or ``None`` for a model without attention.
    """
    memory = model.encode(source, lengths)
    state = memory.initial_state
    previous = torch.full((source.size(0),), BOS_ID, dtype=torch.long, device=source.device)
    ended = torch.zeros_like(previous, dtype=torch.bool)
    tokens, weights = [], []
    for _ in range(max_length):
        logits, state, step_weights = model.decoder.step(previous, state, memory)
        previous = logits.argmax(dim=-1).masked_fill(ended, PAD_ID)
        tokens.append(previous)
        if step_weights is not None:
            weights.append(step_weights.masked_fill(ended.unsqueeze(1), 0.0))
        ended = ended | (previous == EOS_ID)
        if ended.all():
            break
    return torch.stack(tokens, dim=1), torch.stack(weights, dim=1) if weights else None


@dataclass
class Hypothesis:
    """A partial or finished translation in a beam: its ids (no begin id; the end id last once finished)
    and the sum of their log-probabilities."""

    tokens: list[int]
    log_prob: float
    finished: bool

    def score(self, length_penalty: float = 0.0) -> float:
        """``log_prob / len(tokens) ** length_penalty``: 0 ranks by probability, 1 by mean log-probability
        per word; the larger it is, the less long translations are penalised."""
        return self.log_prob / max(len(self.tokens), 1) ** length_penalty


def _best_possible_score(hypothesis: Hypothesis, length_penalty: float, max_length: int) -> float:
    """An upper bound on the score of any continuation: its log-probability can only fall, and its
    length is at most ``max_length``."""
    return hypothesis.log_prob / max_length ** length_penalty


@torch.no_grad()
def beam_search(model: nn.Module, source: torch.Tensor, beam_width: int = 5, max_length: int = 20,
                length_penalty: float = 0.0) -> list[Hypothesis]:
    """Translate one sentence ``source (S,)`` (no padding, on the model's device) with a beam.

    Every live hypothesis is extended by its ``beam_width`` likeliest next words; the candidates are
    ranked by their summed log-probabilities and taken best first until ``beam_width`` live ones
    remain, each candidate ending with the end id on the way being finished and set aside. The search
    stops when no hypothesis is live, after ``max_length`` words, or once ``beam_width`` hypotheses
    are finished and no live one can reach the best finished score (``length_penalty >= 0``, see
    :meth:`Hypothesis.score`). Width 1 gives exactly :func:`greedy_decode`'s words.

    Returns:
        up to ``beam_width`` finished hypotheses (the live ones if none finished), best score first.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, not {beam_width}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty must be at least 0, not {length_penalty}")
    memory = model.encode(source.unsqueeze(0), torch.tensor([source.numel()], device=source.device))
    state = memory.initial_state
    live = [Hypothesis([], 0.0, False)]
    finished: list[Hypothesis] = []
    for _ in range(max_length):
        previous = torch.tensor([h.tokens[-1] if h.tokens else BOS_ID for h in live], device=source.device)
        logits, state, _ = model.decoder.step(previous, state, memory.repeat(len(live)))
        top_log_probs, top_ids = F.log_softmax(logits, dim=-1).topk(min(beam_width, logits.size(-1)), dim=-1)
        so_far = torch.tensor([h.log_prob for h in live], dtype=torch.float64, device=logits.device)
        totals = (so_far.unsqueeze(1) + top_log_probs.double()).cpu()  # (live, beam_width)
        top_ids = top_ids.cpu()
        extended, parents = [], []
        for index in totals.flatten().argsort(descending=True, stable=True).tolist():
            parent, rank = divmod(index, totals.size(1))
            word = int(top_ids[parent, rank])
            candidate = Hypothesis(live[parent].tokens + [word], float(totals[parent, rank]), word == EOS_ID)
            if candidate.finished:
                finished.append(candidate)
                continue
            extended.append(candidate)
            parents.append(parent)
            if len(extended) == beam_width:
                break
        live = extended
        if not live:
            break
        state = state[:, torch.tensor(parents, device=state.device)]
        if len(finished) >= beam_width and max(h.score(length_penalty) for h in finished) >= max(
                _best_possible_score(h, length_penalty, max_length) for h in live):
            break
    ranked = sorted(finished or live, key=lambda h: h.score(length_penalty), reverse=True)
    return ranked[:beam_width]


def translate(model: nn.Module, pairs: Sequence[SentencePair], data: TranslationData, *, device: torch.device,
              beam_width: int = 1, max_length: int = 20, length_penalty: float = 0.0,
              batch_size: int = 256) -> list[str]:
    """The model's translation of each pair's source, in order, as a string of target words.

    Width 1 decodes greedily, ``batch_size`` sentences at a time; a wider beam searches sentence by
    sentence with :func:`beam_search` (with a progress bar) and keeps the best hypothesis. The model
    is put in evaluation mode for the translation, then back in its former mode.
    """
    was_training = model.training
    model.to(device).eval()
    sources = [data.source_vocabulary.encode(pair.source) for pair in pairs]
    translations = []
    if beam_width == 1:
        for start in range(0, len(sources), batch_size):
            source, lengths = pad_batch(sources[start:start + batch_size])
            tokens, _ = greedy_decode(model, source.to(device), lengths.to(device), max_length)
            translations.extend(data.target_vocabulary.decode(row) for row in tokens.cpu())
    else:
        for source in tqdm(sources, desc=f"beam search, width {beam_width}", leave=False):
            best = beam_search(model, source.to(device), beam_width, max_length, length_penalty)[0]
            translations.append(data.target_vocabulary.decode(best.tokens))
    model.train(was_training)
    return translations


def bleu(model: nn.Module, pairs: Sequence[SentencePair], data: TranslationData, *, device: torch.device,
         **translate_options) -> float:
    """Corpus BLEU (0-100) of the model's translations of ``pairs`` against their targets; the options
    (``beam_width``, ``max_length``, ...) go to :func:`translate`."""
    hypotheses = translate(model, pairs, data, device=device, **translate_options)
    return corpus_bleu(hypotheses, [pair.target for pair in pairs])


@dataclass(frozen=True)
class LengthBucket:
    """The sentences whose source has a word count in one bucket, and the BLEU of their translations
    (``nan`` when there are none)."""

    sentences: int
    bleu: float


def bleu_by_source_length(hypotheses: Sequence[str], pairs: Sequence[SentencePair], *,
                          edges: Sequence[int] = SOURCE_LENGTH_EDGES) -> dict[str, LengthBucket]:
    """BLEU per bucket of source word count (punctuation included), keyed ``"1-5"``, ``"6-7"``, ...

    ``hypotheses`` are the translations of ``pairs``, in order (from :func:`translate`, so that a test
    set is decoded once for its overall BLEU and its buckets). Bucket ``i`` holds the sources of
    ``edges[i]`` up to ``edges[i + 1] - 1`` words; sentences outside every bucket are left out.
    """
    if len(hypotheses) != len(pairs):
        raise ValueError(f"{len(hypotheses)} translations for {len(pairs)} pairs")
    word_counts = [len(pair.source.split()) for pair in pairs]
    buckets = {}
    for low, high in zip(edges[:-1], edges[1:]):
        members = [i for i, count in enumerate(word_counts) if low <= count < high]
        score = (corpus_bleu([hypotheses[i] for i in members], [pairs[i].target for i in members])
                 if members else float("nan"))
        buckets[f"{low}-{high - 1}"] = LengthBucket(len(members), score)
    return buckets


def train_translation(model: nn.Module, data: TranslationData, *, epochs: int, device: torch.device,
                      batch_size: int = 64, learning_rate: float = 1e-3, max_norm: float | None = 1.0,
                      seed: int = 0, desc: str = "seq2seq", progress: bool = True) -> History:
    """Train on ``data.train`` with Adam and teacher forcing, minimising the mean :func:`token_losses`.

    Batches are shuffled by a generator seeded with ``seed``; gradients are clipped to total norm
    ``max_norm``. ``history.epoch_losses`` are in nats per target token.
    """
    batches = DataLoader(data.encoded(data.train), batch_size=batch_size, shuffle=True,
                         generator=torch.Generator().manual_seed(seed), collate_fn=collate_pairs)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    return fit(model, batches, token_losses, optimizer, epochs=epochs, device=device, max_norm=max_norm,
               desc=desc, progress=progress)


def plot_attention(weights: torch.Tensor | ArrayLike, source_words: Sequence[str], target_words: Sequence[str],
                   ax: Axes | None = None) -> Axes:
    """Draw attention weights ``(T, S)`` as a heat map: a row per target word, a column per source word.

    A new figure sized to the sentences is made when ``ax`` is ``None``; the Axes is returned.
    """
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(target_words), len(source_words)):
        raise ValueError(f"weights of shape {weights.shape} for {len(target_words)} target and "
                         f"{len(source_words)} source words")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * len(source_words) + 2.0, 0.5 * len(target_words) + 1.5))
    image = ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(source_words)), source_words, rotation=90)
    ax.set_yticks(range(len(target_words)), target_words)
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax
