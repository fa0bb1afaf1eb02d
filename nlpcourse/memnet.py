"""End-to-end memory networks (Sukhbaatar et al. 2015) and an LSTM reader to compare them with.

A MemN2N with ``K`` hops and adjacent weight tying has ``K + 1`` embedding matrices ``E_0 .. E_K``:
hop ``k`` (1-based) reads its memory keys with ``A^k = E_{k-1}`` and its values with ``C^k = E_k``,
the question is embedded with ``B = E_0`` and the answer is predicted with ``W = E_K^T``. Each
statement ``x_i`` becomes ``m_i = sum_j l_j * A x_ij + T_A(i)`` (position encoding ``l_j``, temporal
encoding ``T_A(i)`` for the ``i``-th most recent statement), and each hop does

    p = softmax(m u),   o = sum_i p_i c_i,   u <- u + o,

the masked attention of topic 5 (:func:`nlpcourse.seq2seq.attend` with the dot score). With linear
start the softmax is left out (``p = m u``) until the validation loss stops falling.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .qa_data import NULL_ID
from .seq2seq import DotScore, attend


def position_encoding(sentence_length: int, embedding_dim: int) -> torch.Tensor:
    """The paper's weights ``l_kj = (1 - j/J) - (k/d)(1 - 2j/J)`` for word ``j`` of ``J`` and dimension
    ``k`` of ``d`` (both 1-based), as a ``(J, d)`` tensor whose row ``j - 1`` multiplies word ``j``."""
    j = torch.arange(1, sentence_length + 1, dtype=torch.float32).unsqueeze(1) / sentence_length  # (J, 1)
    k = torch.arange(1, embedding_dim + 1, dtype=torch.float32).unsqueeze(0) / embedding_dim  # (1, d)
    return (1 - j) - k * (1 - 2 * j)


def memory_read(u: torch.Tensor, m: torch.Tensor, c: torch.Tensor, mask: torch.Tensor, *,
                linear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One hop's read: ``p_i = softmax_i(m_i . u)`` over the slots in ``mask``, ``o = sum_i p_i c_i``.

    Args:
        u: ``(B, d)`` controller state; m: ``(B, M, d)`` keys; c: ``(B, M, d)`` values.
        mask: ``(B, M)`` bool, True at the slots that hold a statement (at least one per row).
        linear: leave out the softmax (linear start): ``p_i = m_i . u``, still 0 at masked slots.

    Returns:
        ``o (B, d)`` and the weights ``p (B, M)``, exactly 0 at the masked slots.
    """
    if linear:
        p = torch.bmm(m, u.unsqueeze(-1)).squeeze(-1).masked_fill(~mask, 0.0)
        return torch.bmm(p.unsqueeze(1), c).squeeze(1), p
    return attend(u, m, c, mask, DotScore())


class MemN2N(nn.Module):
    """A ``hops``-hop end-to-end memory network with adjacent weight tying.

    ``forward(stories (B, M, J), questions (B, J), memory_mask (B, M))`` returns the answer logits
    ``(B, V)`` over the vocabulary and the attention of every hop ``(B, K, M)``.
    """

    def __init__(self, vocab_size: int, *, memory_size: int, sentence_length: int, embedding_dim: int = 20,
                 hops: int = 3, use_position_encoding: bool = True, use_temporal_encoding: bool = True,
                 init_std: float = 0.1) -> None:
        super().__init__()
        self.hops = hops
        self.linear_start = False
        self.embeddings = nn.ModuleList(nn.Embedding(vocab_size, embedding_dim, padding_idx=NULL_ID)
                                        for _ in range(hops + 1))
        self.temporal = nn.ParameterList(nn.Parameter(torch.zeros(memory_size, embedding_dim))
                                         for _ in range(hops + 1))
        for embedding, temporal in zip(self.embeddings, self.temporal, strict=True):
            nn.init.normal_(embedding.weight, std=init_std)
            nn.init.normal_(temporal, std=init_std)
            with torch.no_grad():
                embedding.weight[NULL_ID].zero_()
        for temporal in self.temporal:
            temporal.requires_grad_(use_temporal_encoding)
            if not use_temporal_encoding:
                nn.init.zeros_(temporal)
        weights = position_encoding(sentence_length, embedding_dim) if use_position_encoding \
            else torch.ones(sentence_length, embedding_dim)
        self.register_buffer("word_weights", weights)

    def embed_sentences(self, words: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
        """``sum_j l_j * E x_j`` over the last axis: ``(..., J)`` word ids -> ``(..., d)``."""
        return (embedding(words) * self.word_weights).sum(-2)

    def forward(self, stories: torch.Tensor, questions: torch.Tensor,
                memory_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, M, J), (B, J), (B, M)`` -> logits ``(B, V)``, attention ``(B, K, M)``."""
        slots = stories.shape[1]
        u = self.embed_sentences(questions, self.embeddings[0])  # (B, d)
        memories = [self.embed_sentences(stories, embedding) + temporal[:slots]
                     for embedding, temporal in zip(self.embeddings, self.temporal, strict=True)]  # K+1 x (B, M, d)
        attention = []
        for hop in range(self.hops):
            o, p = memory_read(u, memories[hop], memories[hop + 1], memory_mask, linear=self.linear_start)
            u = u + o
            attention.append(p)
        return u @ self.embeddings[-1].weight.T, torch.stack(attention, dim=1)


def reader_sequences(stories: torch.Tensor, questions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The words of each story, oldest statement first, then the question's, with the nulls removed.

    ``stories (B, M, J)`` (slot 0 most recent), ``questions (B, J)`` -> word ids ``(B, L)`` left-aligned
    and null-padded, and their lengths ``(B,)``.
    """
    flat = torch.cat([stories.flip(1).flatten(1), questions], dim=1)  # (B, M*J + J)
    is_null = flat == NULL_ID
    order = torch.argsort(is_null.to(torch.int8), dim=1, stable=True)
    lengths = (~is_null).sum(1)
    return flat.gather(1, order)[:, :int(lengths.max())], lengths


class LSTMReader(nn.Module):
    """The paper's LSTM baseline: read the story and then the question as one word sequence, and
    predict the answer from the final state. Same call as :class:`MemN2N` (its attention is ``None``)."""

    def __init__(self, vocab_size: int, *, embedding_dim: int = 50, hidden_size: int = 100) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=NULL_ID)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, vocab_size)

    def forward(self, stories: torch.Tensor, questions: torch.Tensor,
                memory_mask: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``(B, M, J), (B, J), (B, M)`` -> logits ``(B, V)``, ``None``."""
        tokens, lengths = reader_sequences(stories, questions)
        packed = pack_padded_sequence(self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (final, _) = self.lstm(packed)
        return self.output(final[-1]), None


def add_empty_memories(stories: torch.Tensor, memory_mask: torch.Tensor, fraction: float,
                       generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random noise (the paper's "RN"): before each statement, with probability ``fraction``, insert an
    empty memory (all null words), which shifts the older statements back in time by one slot.
    Statements pushed past the last slot are dropped.

    ``stories (B, M, J)``, ``memory_mask (B, M)`` -> the same shapes with the empty slots in place.
    """
    batch, slots = memory_mask.shape
    inserted = (torch.rand(batch, slots, generator=generator) < fraction).to(stories.device) & memory_mask
    new_slot = torch.arange(slots, device=stories.device) + inserted.long().cumsum(1)  # (B, M)
    keep = memory_mask & (new_slot < slots)
    rows = torch.arange(batch, device=stories.device).unsqueeze(1).expand(batch, slots)
    noisy = torch.zeros_like(stories)
    noisy[rows[keep], new_slot[keep]] = stories[keep]
    used = (memory_mask.sum(1) + inserted.sum(1)).clamp(max=slots)
    return noisy, torch.arange(slots, device=stories.device) < used.unsqueeze(1)
