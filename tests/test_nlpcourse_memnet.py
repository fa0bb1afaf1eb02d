"""Memory networks: bAbI tensors, position encoding, the memory read, MemN2N, noise, the LSTM reader
and training, each against a direct computation."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call

from nlpcourse.babi import BabiQuestion, load_task
from nlpcourse.memnet import LSTMReader, MemN2N, add_empty_memories, memory_read, position_encoding, reader_sequences
from nlpcourse.qa_data import NULL_ID, QAVocabulary, encode_questions, load_task_data
from nlpcourse.qa_training import (PAPER_ERRORS, QATrainingSettings, TaskResult, attention_on_support, error_table,
                                   run_task, train_qa)


def test_stories_become_slots_with_the_most_recent_statement_first() -> None:
    questions = [BabiQuestion(("Mary went home.", "John went out.", "Mary left."), "Where is Mary?", "home", (0,))]
    vocabulary = QAVocabulary(questions)
    tensors = encode_questions(questions, vocabulary, memory_size=4, sentence_length=3)
    assert vocabulary.words[0] == "<null>" and vocabulary.words[1] == "mary"
    decoded = [[vocabulary.words[i] for i in slot if i != NULL_ID] for slot in tensors.stories[0].tolist()]
    assert decoded == [["mary", "left"], ["john", "went", "out"], ["mary", "went", "home"], []]
    assert tensors.memory_mask.tolist() == [[True, True, True, False]]
    assert tensors.supporting == [(2,)]
    assert vocabulary.words[tensors.answers[0]] == "home"
    with pytest.raises(ValueError, match="more than the sentence length"):
        vocabulary.encode("John went out.", 2)


def test_task_data_splits_900_100_1000_and_keeps_supporting_slots() -> None:
    data = load_task_data(1)
    assert (len(data.train), len(data.valid), len(data.test)) == (900, 100, 1000)
    assert data.memory_size == 10 and data.train.stories.shape[1:] == (10, data.sentence_length)
    first = load_task(1, "test")[0]
    assert data.test.supporting[0] == tuple(len(first.story) - 1 - p for p in first.supporting)
    assert all(data.test.memory_mask[i, s] for i, slots in enumerate(data.test.supporting) for s in slots)


def test_position_encoding_is_the_papers_formula() -> None:
    J, d = 4, 3
    expected = torch.tensor([[(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)]
                             for j in range(1, J + 1)])
    assert torch.allclose(position_encoding(J, d), expected)


def test_memory_read_is_masked_softmax_attention() -> None:
    torch.manual_seed(0)
    u, m, c = torch.randn(3, 5), torch.randn(3, 6, 5), torch.randn(3, 6, 5)
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4, [True] + [False] * 5])
    o, p = memory_read(u, m, c, mask)
    for row in range(3):
        real = mask[row]
        weights = torch.softmax(m[row, real] @ u[row], 0)
        assert torch.allclose(p[row, real], weights) and torch.all(p[row, ~real] == 0)
        assert torch.allclose(o[row], weights @ c[row, real], atol=1e-6)
    o, p = memory_read(u, m, c, mask, linear=True)
    assert torch.allclose(p[0], m[0] @ u[0]) and torch.all(p[1, 2:] == 0)
    assert torch.allclose(o[1], p[1, :2] @ c[1, :2], atol=1e-6)


def reference_memn2n(model: MemN2N, stories: torch.Tensor, questions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The paper's equations one question and one hop at a time, with explicit A^k, C^k, B, W and T."""
    E = [e.weight for e in model.embeddings]
    T = list(model.temporal)
    L = model.word_weights
    logits = []
    for b in range(len(questions)):
        u = (L * E[0][questions[b]]).sum(0)
        for k in range(model.hops):
            A, C, TA, TC = E[k], E[k + 1], T[k], T[k + 1]
            slots = [i for i in range(stories.shape[1]) if mask[b, i]]
            m = torch.stack([(L * A[stories[b, i]]).sum(0) + TA[i] for i in slots])
            c = torch.stack([(L * C[stories[b, i]]).sum(0) + TC[i] for i in slots])
            u = u + torch.softmax(m @ u, 0) @ c
        logits.append(E[-1] @ u)
    return torch.stack(logits)


def random_batch(vocab: int = 12, batch: int = 4, slots: int = 5, length: int = 4) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    stories = torch.randint(1, vocab, (batch, slots, length), generator=generator)
    stories[:, :, -1] = NULL_ID
    lengths = torch.tensor([5, 3, 1, 2])[:batch]
    mask = torch.arange(slots) < lengths.unsqueeze(1)
    stories[~mask] = NULL_ID
    return stories, torch.randint(1, vocab, (batch, length), generator=generator), mask


def test_memn2n_matches_the_equations_and_ties_adjacent_hops() -> None:
    torch.manual_seed(0)
    model = MemN2N(12, memory_size=5, sentence_length=4, embedding_dim=6, hops=3)
    stories, questions, mask = random_batch()
    logits, attention = model(stories, questions, mask)
    assert logits.shape == (4, 12) and attention.shape == (4, 3, 5)
    assert torch.allclose(logits, reference_memn2n(model, stories, questions, mask), atol=1e-5)
    assert len(list(model.parameters())) == 2 * (3 + 1)
    assert torch.all(model.embeddings[0].weight[NULL_ID] == 0)


def test_memn2n_gradients_match_finite_differences() -> None:
    torch.manual_seed(0)
    model = MemN2N(12, memory_size=5, sentence_length=4, embedding_dim=3, hops=2).double()
    stories, questions, mask = random_batch()
    names = ["embeddings.1.weight", "temporal.0"]
    parameters = dict(model.named_parameters())

    def log_partition(word_rows: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
        null_row = torch.zeros(1, word_rows.shape[1], dtype=word_rows.dtype)  # the null word has no gradient
        replaced = {names[0]: torch.cat([null_row, word_rows]), names[1]: temporal}
        return functional_call(model, replaced, (stories, questions, mask))[0].logsumexp(1)

    inputs = [parameters[names[0]][1:].detach().clone().requires_grad_(),
              parameters[names[1]].detach().clone().requires_grad_()]
    assert torch.autograd.gradcheck(log_partition, inputs)


def test_empty_memories_shift_older_statements_back() -> None:
    stories = torch.arange(1, 13).reshape(1, 4, 3)
    mask = torch.tensor([[True, True, True, False]])
    same, same_mask = add_empty_memories(stories, mask, 0.0)
    assert torch.equal(same, stories * mask[..., None]) and torch.equal(same_mask, mask)
    every, every_mask = add_empty_memories(stories, mask, 1.0)
    assert every[0, :, 0].tolist() == [0, 1, 0, 4]  # empty, newest, empty, second newest; the oldest falls out
    assert every_mask.tolist() == [[True, True, True, True]]


def test_reader_sequences_read_the_story_oldest_first_then_the_question() -> None:
    stories = torch.tensor([[[5, 6, 0], [3, 4, 0], [0, 0, 0]]])
    sequence, lengths = reader_sequences(stories, torch.tensor([[7, 0, 0]]))
    assert sequence.tolist() == [[3, 4, 5, 6, 7]] and lengths.tolist() == [5]


def test_lstm_reader_matches_the_lstm_on_each_unpadded_sequence() -> None:
    torch.manual_seed(0)
    model = LSTMReader(12, embedding_dim=4, hidden_size=5)
    stories, questions, mask = random_batch()
    logits, attention = model(stories, questions, mask)
    assert attention is None
    sequences, lengths = reader_sequences(stories, questions)
    for row in range(4):
        tokens = sequences[row, :lengths[row]].unsqueeze(0)
        _, (final, _) = model.lstm(model.embedding(tokens))
        assert torch.allclose(logits[row], model.output(final[-1, 0]), atol=1e-6)


def test_training_on_task_1_learns_reproducibly_and_ends_linear_start() -> None:
    settings = QATrainingSettings(epochs=15)

    def build(data) -> nn.Module:
        return MemN2N(len(data.vocabulary), memory_size=data.memory_size, sentence_length=data.sentence_length)

    first, model, data = run_task(1, build, settings, device=torch.device("cpu"), train_questions=300, progress=False)
    again, _, _ = run_task(1, build, settings, device=torch.device("cpu"), train_questions=300, progress=False)
    assert first.test_error == again.test_error and first.test_error < 0.5  # chance is about 5 in 6 wrong
    assert not model.linear_start
    history = train_qa(build(data), data, QATrainingSettings(epochs=3, linear_start=False), device=torch.device("cpu"),
                       progress=False)
    assert len(history.valid_error) == 3 and history.linear_start_ended is None
    with pytest.raises(ValueError, match="linear start"):
        train_qa(LSTMReader(len(data.vocabulary)), data, settings, device=torch.device("cpu"), progress=False)


def test_attention_on_support_counts_peaks_on_supporting_slots() -> None:
    attention = torch.tensor([[[0.1, 0.9]], [[0.8, 0.2]], [[0.3, 0.7]]])
    assert attention_on_support(attention, [(1,), (1,), (0, 1)]) == pytest.approx(2 / 3)


def test_error_table_reproduces_the_papers_mean_and_failed_count() -> None:
    rows = [TaskResult(task, 0.5, 0.5, None, 0.0) for task in range(1, 21)]
    table = error_table({"ours": rows})
    assert "| **mean** | **50.0** | **51.3** | **13.9** |" in table
    assert "| **failed (> 5%)** | **20** | **20** | **11** |" in table
    assert len(PAPER_ERRORS["LSTM"]) == 20
