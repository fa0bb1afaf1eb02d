"""Sequence-to-sequence models: attention scores, encoder and decoder, decoding, evaluation and training."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from matplotlib.axes import Axes
from torch import nn
from torch.nn import functional as F

from nlpcourse.seq2seq import (
    AdditiveScore,
    Decoder,
    Encoder,
    EncoderMemory,
    GeneralScore,
    Hypothesis,
    Seq2Seq,
    attend,
    beam_search,
    bleu,
    bleu_by_source_length,
    build_seq2seq,
    dot_scores,
    greedy_decode,
    make_score,
    plot_attention,
    reverse_words,
    token_losses,
    train_translation,
    translate,
)
from nlpcourse.sequence_tasks import pad_batch
from nlpcourse.translation import BOS_ID, EOS_ID, PAD_ID, TranslationData, collate_pairs, load_translation_data

CPU = torch.device("cpu")
A, B, C, D = 3, 4, 5, 6  # the toy target words, after the padding, begin and end ids


@pytest.fixture(scope="module")
def data() -> TranslationData:
    return load_translation_data()


def random_sources(generator: torch.Generator, lengths: list[int], vocab_size: int) -> tuple[torch.Tensor, ...]:
    """A padded batch of random word ids, each row ending with the end id, and its lengths."""
    rows = [torch.cat([torch.randint(4, vocab_size, (n - 1,), generator=generator), torch.tensor([EOS_ID])])
            for n in lengths]
    return pad_batch(rows)


def tiny_model(attention: str | None = None, *, bidirectional: bool = True, num_layers: int = 1,
               reverse_source: bool = False, feed_summary: bool = False) -> Seq2Seq:
    torch.manual_seed(0)
    return build_seq2seq(11, 9, embedding_dim=5, hidden_size=6, num_layers=num_layers, bidirectional=bidirectional,
                         attention=attention, reverse_source=reverse_source, feed_summary=feed_summary).double()


def test_dot_attention_equals_pytorchs_scaled_dot_product_attention_without_scaling() -> None:
    generator = torch.Generator().manual_seed(0)
    query, keys, values = (torch.randn(*shape, generator=generator, dtype=torch.float64)
                           for shape in ((3, 4), (3, 5, 4), (3, 5, 2)))
    mask = torch.arange(5) < torch.tensor([[5], [2], [1]])
    context, weights = attend(query, keys, values, mask, make_score("dot", 4, 4))
    expected = F.scaled_dot_product_attention(query[:, None], keys, values, attn_mask=mask[:, None], scale=1.0)
    assert torch.allclose(context, expected[:, 0])
    assert torch.allclose(weights.sum(dim=1), torch.ones(3, dtype=torch.float64))
    assert torch.all(weights[~mask] == 0) and torch.all(weights[mask] > 0)
    assert torch.equal(context[2], values[2, 0])  # one real position takes all the weight


def test_general_and_additive_scores_follow_their_formulas() -> None:
    torch.manual_seed(0)
    query, keys = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, 5, dtype=torch.float64)
    general = GeneralScore(3, 5).double()
    expected = torch.einsum("bq,qk,bsk->bs", query, general.key_projection.weight, keys)
    assert torch.allclose(general(query, keys), expected)
    additive = AdditiveScore(3, 5, 7).double()
    w_q, w_k = additive.query_projection.weight, additive.key_projection.weight
    b, v = additive.key_projection.bias, additive.score_vector.weight[0]
    expected = torch.stack([torch.stack([v @ torch.tanh(w_q @ query[i] + w_k @ keys[i, j] + b) for j in range(4)])
                            for i in range(2)])
    assert torch.allclose(additive(query, keys), expected)
    assert torch.allclose(dot_scores(query, keys[..., :3]), torch.einsum("bh,bsh->bs", query, keys[..., :3]))


def test_make_score_names_each_kind_and_rejects_the_rest() -> None:
    assert isinstance(make_score("general", 3, 5), GeneralScore)
    assert make_score("additive", 3, 5).score_vector.in_features == 3
    assert make_score("additive", 3, 5, attention_size=8).score_vector.in_features == 8
    with pytest.raises(ValueError, match="one size"):
        make_score("dot", 3, 5)
    with pytest.raises(ValueError, match="dot, general, additive"):
        make_score("cosine", 3, 3)


@pytest.mark.parametrize(("bidirectional", "num_layers"), [(True, 1), (True, 2), (False, 2)])
def test_encoder_equals_its_gru_run_on_each_sentence_alone(bidirectional: bool, num_layers: int) -> None:
    torch.manual_seed(0)
    encoder = Encoder(11, 5, 3, num_layers=num_layers, bidirectional=bidirectional).double()
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2, 6], 11)
    memory = encoder(source, lengths)
    directions = 2 if bidirectional else 1
    assert encoder.output_size == 3 * directions
    assert memory.initial_state.shape == (num_layers, 3, 3 * directions)
    assert torch.equal(memory.summary, memory.initial_state[-1])
    assert memory.mask.tolist() == (torch.arange(6) < lengths[:, None]).tolist()
    for row, n in enumerate(lengths.tolist()):
        outputs, final = encoder.recurrent(encoder.embedding(source[row:row + 1, :n]))
        assert torch.allclose(memory.outputs[row, :n], outputs[0])
        assert torch.all(memory.outputs[row, n:] == 0)
        by_layer = torch.stack([final[layer * directions:(layer + 1) * directions, 0].flatten()
                                for layer in range(num_layers)])  # forward then backward state per layer
        assert torch.allclose(memory.initial_state[:, row], by_layer)


def test_padding_ids_and_extra_padding_columns_change_nothing() -> None:
    torch.manual_seed(0)
    encoder = Encoder(11, 5, 3, num_layers=2).double()
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2, 5], 11)
    memory = encoder(source, lengths)
    noisy = source.masked_fill(source == PAD_ID, 7)
    wider = torch.cat([source, torch.zeros(3, 2, dtype=torch.long)], dim=1)
    for other_source in (noisy, wider):
        other = encoder(other_source, lengths)
        assert torch.allclose(other.initial_state, memory.initial_state)
        assert torch.allclose(other.outputs[:, :5], memory.outputs) and torch.all(other.outputs[:, 5:] == 0)


def test_memory_repeat_repeats_each_row_in_a_row() -> None:
    memory = EncoderMemory(torch.arange(2.0).view(2, 1, 1), torch.tensor([[True], [False]]),
                           torch.arange(2.0).view(2, 1), torch.arange(4.0).view(2, 2, 1))
    repeated = memory.repeat(3)
    assert repeated.outputs.flatten().tolist() == [0, 0, 0, 1, 1, 1]
    assert repeated.mask.flatten().tolist() == [True] * 3 + [False] * 3
    assert repeated.summary.flatten().tolist() == [0, 0, 0, 1, 1, 1]
    assert repeated.initial_state[:, :, 0].tolist() == [[0, 0, 0, 1, 1, 1], [2, 2, 2, 3, 3, 3]]


def test_reversed_sources_keep_the_end_id_last_and_the_padding_right() -> None:
    source = torch.tensor([[5, 6, 7, EOS_ID, 0], [8, EOS_ID, 0, 0, 0], [4, 9, 5, 6, EOS_ID]])
    lengths = torch.tensor([4, 2, 5])
    assert reverse_words(source, lengths).tolist() == [[7, 6, 5, EOS_ID, 0], [8, EOS_ID, 0, 0, 0],
                                                       [6, 5, 9, 4, EOS_ID]]
    model = tiny_model(reverse_source=True)
    encoded = model.encode(source, lengths)
    assert torch.allclose(encoded.initial_state, model.encoder(reverse_words(source, lengths), lengths).initial_state)


def test_seq2seq_rejects_a_decoder_of_another_size() -> None:
    with pytest.raises(ValueError, match="encoder 6 x 1, decoder 5 x 1"):
        Seq2Seq(Encoder(10, 4, 3), Decoder(10, 4, 5))
    with pytest.raises(ValueError, match="even hidden_size"):
        build_seq2seq(10, 10, hidden_size=7)


@pytest.mark.parametrize(("attention", "feed_summary"), [(None, False), (None, True), ("dot", False), ("dot", True)])
def test_a_decoder_step_follows_the_formulas(attention: str | None, feed_summary: bool) -> None:
    model = tiny_model(attention, feed_summary=feed_summary)
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2], 11)
    memory = model.encode(source, lengths)
    decoder = model.decoder
    previous = torch.tensor([BOS_ID, 5])
    logits, state, weights = decoder.step(previous, memory.initial_state, memory)
    inputs = decoder.embedding(previous)
    if feed_summary:
        inputs = torch.cat([inputs, memory.summary], dim=1)
    _, expected_state = decoder.recurrent(inputs[:, None], memory.initial_state)
    top = expected_state[-1]
    if attention is None:
        assert weights is None and decoder.combine is None
        expected_logits = decoder.output(top)
    else:
        scores = torch.einsum("bh,bsh->bs", top, memory.outputs).masked_fill(~memory.mask, -math.inf)
        expected_weights = scores.softmax(dim=1)
        context = torch.einsum("bs,bsh->bh", expected_weights, memory.outputs)
        assert torch.allclose(weights, expected_weights)
        expected_logits = decoder.output(torch.tanh(decoder.combine(torch.cat([context, top], dim=1))))
    assert torch.allclose(state, expected_state) and torch.allclose(logits, expected_logits)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_teacher_forcing_equals_stepping_by_hand(attention: str | None) -> None:
    model = tiny_model(attention, num_layers=2)
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2, 3], 11)
    decoder_inputs = torch.randint(0, 9, (3, 5), generator=torch.Generator().manual_seed(2))
    memory = model.encode(source, lengths)
    logits, weights = model.decoder(decoder_inputs, memory)
    state = memory.initial_state
    for t in range(5):
        step_logits, state, step_weights = model.decoder.step(decoder_inputs[:, t], state, memory)
        assert torch.allclose(logits[:, t], step_logits)
        if attention is not None:
            assert torch.allclose(weights[:, t], step_weights)
    assert (weights is None) == (attention is None)
    assert torch.allclose(model(source, lengths, decoder_inputs), logits)


def test_token_losses_are_the_cross_entropy_of_the_real_target_tokens() -> None:
    model = tiny_model("general")
    generator = torch.Generator().manual_seed(1)
    source, _ = random_sources(generator, [3, 5, 2], 11)
    target, _ = random_sources(generator, [4, 2, 6], 9)
    batch = collate_pairs([(s[s != PAD_ID], t[t != PAD_ID]) for s, t in zip(source, target)])
    losses = token_losses(model, batch)
    assert losses.shape == (12,)
    logits = model(*batch[:3])
    every = F.cross_entropy(logits.reshape(-1, 9), batch[3].flatten(), ignore_index=PAD_ID, reduction="none")
    assert torch.allclose(losses, every[batch[3].flatten() != PAD_ID])


class ToyDecoder(nn.Module):
    """Next-word probabilities that depend on the previous word only, from the table the state names."""

    def __init__(self, tables: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("log_tables", tables.log())  # (tables, V, V): previous word -> next word

    def step(self, previous: torch.Tensor, state: torch.Tensor, memory: EncoderMemory):
        return self.log_tables[state[0, :, 0].long(), previous], state, None


class ToyModel(nn.Module):
    """The decoding interface only: the first source id picks a table, kept as the (1, B, 1) state."""

    def __init__(self, tables: torch.Tensor) -> None:
        super().__init__()
        self.decoder = ToyDecoder(tables)

    def encode(self, source: torch.Tensor, lengths: torch.Tensor) -> EncoderMemory:
        batch = source.size(0)
        return EncoderMemory(torch.zeros(batch, 1, 1), torch.ones(batch, 1, dtype=torch.bool), torch.zeros(batch, 1),
                             source[:, 0].double().view(1, batch, 1))


def toy_model() -> ToyModel:
    """Table 0: greedy says A C D (p = .6 * .8 * .8 * .9 = .3456) but B is likelier (p = .4 * .9 = .36).
    Table 1 starts with B."""
    table = torch.full((7, 7), 1 / 7, dtype=torch.float64)
    for previous, row in {BOS_ID: {A: 0.6, B: 0.4}, A: {C: 0.8, EOS_ID: 0.12, B: 0.08}, B: {EOS_ID: 0.9, C: 0.1},
                          C: {D: 0.8, EOS_ID: 0.2}, D: {EOS_ID: 0.9, A: 0.1}}.items():
        table[previous] = 0.0
        for word, probability in row.items():
            table[previous, word] = probability
    starts_with_b = table.clone()
    starts_with_b[BOS_ID] = torch.tensor([0, 0, 0, 0.1, 0.9, 0, 0])
    return ToyModel(torch.stack([table, starts_with_b]))


def test_greedy_decoding_stops_at_the_end_id_and_pads_after_it() -> None:
    model = toy_model()
    source, lengths = torch.tensor([[0, EOS_ID], [1, EOS_ID]]), torch.tensor([2, 2])
    tokens, weights = greedy_decode(model, source, lengths, max_length=10)
    assert tokens.tolist() == [[A, C, D, EOS_ID], [B, EOS_ID, PAD_ID, PAD_ID]] and weights is None
    assert greedy_decode(model, source, lengths, max_length=2)[0].tolist() == [[A, C], [B, EOS_ID]]


def test_greedy_attention_weights_cover_the_real_source_until_each_end() -> None:
    model = tiny_model("dot", bidirectional=False, num_layers=2).eval()
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2, 6, 3, 5], 11)
    tokens, weights = greedy_decode(model, source, lengths, max_length=8)
    assert tokens.shape == (5, 8) and weights.shape == (5, 8, 6)
    decoding = torch.cumsum(tokens == EOS_ID, dim=1) - (tokens == EOS_ID).long() == 0  # up to each end id
    assert not decoding.all() and decoding.all(dim=1).any()  # some rows end early, some never
    assert torch.all(tokens[~decoding] == PAD_ID)
    assert torch.allclose(weights.sum(dim=2), decoding.double())
    assert torch.all(weights.masked_select(~model.encode(source, lengths).mask[:, None]) == 0)


def test_beam_search_finds_the_likelier_translation_that_greedy_misses() -> None:
    model = toy_model()
    greedy, _ = greedy_decode(model, torch.tensor([[0]]), torch.tensor([1]))
    assert greedy.tolist() == [[A, C, D, EOS_ID]]
    best, second = beam_search(model, torch.tensor([0]), beam_width=2)
    assert (best.tokens, second.tokens) == ([B, EOS_ID], [A, C, D, EOS_ID])
    assert math.isclose(best.log_prob, math.log(0.36)) and math.isclose(second.log_prob, math.log(0.3456))
    assert best.finished and second.finished
    assert beam_search(model, torch.tensor([0]), beam_width=1)[0].tokens == [A, C, D, EOS_ID]
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(model, torch.tensor([0]), beam_width=0)


def test_a_length_penalty_favours_the_longer_translation() -> None:
    hypothesis = Hypothesis([A, EOS_ID], -1.0, True)
    assert hypothesis.score() == -1.0 and hypothesis.score(1.0) == -0.5
    ranked = beam_search(toy_model(), torch.tensor([0]), beam_width=2, max_length=10, length_penalty=1.0)
    assert [h.tokens for h in ranked] == [[A, C, D, EOS_ID], [B, EOS_ID]]  # mean log-probability -0.27, -0.51


@pytest.mark.parametrize("attention", [None, "dot"])
def test_beam_width_one_gives_the_greedy_words(attention: str | None) -> None:
    source, lengths = random_sources(torch.Generator().manual_seed(1), [4, 2, 6, 3, 5], 11)
    ended = set()
    for end_bias in (0.0, 1.5):  # the untrained model runs on to max_length; with the end made likelier, it stops
        model = tiny_model(attention, bidirectional=False, num_layers=2).eval()
        with torch.no_grad():
            model.decoder.output.bias[EOS_ID] += end_bias
        tokens, _ = greedy_decode(model, source, lengths, max_length=8)
        for row, n in enumerate(lengths.tolist()):
            (beam,) = beam_search(model, source[row, :n], beam_width=1, max_length=8)
            assert beam.tokens == [t for t in tokens[row].tolist() if t != PAD_ID]
            assert beam.finished == (EOS_ID in beam.tokens)
            ended.add(beam.finished)
    assert ended == {True, False}


def test_translate_and_bleu_run_end_to_end_on_real_pairs(data: TranslationData) -> None:
    pairs = [pair for words in (4, 6, 8) for pair in [p for p in data.test if len(p.source.split()) == words][:2]]
    torch.manual_seed(0)
    model = build_seq2seq(len(data.source_vocabulary), len(data.target_vocabulary), embedding_dim=8, hidden_size=8,
                          attention="general")
    greedy = translate(model, pairs, data, device=CPU, max_length=5, batch_size=4)
    assert len(greedy) == 6 and all(len(sentence.split()) <= 5 for sentence in greedy) and model.training
    beam = translate(model, pairs, data, device=CPU, beam_width=2, max_length=5)
    assert len(beam) == 6 and all(isinstance(sentence, str) for sentence in beam)
    score = bleu(model, pairs, data, device=CPU, beam_width=2, max_length=5)
    assert isinstance(score, float) and 0.0 <= score <= 100.0
    buckets = bleu_by_source_length(greedy, pairs)
    assert list(buckets) == ["1-5", "6-7", "8-9"]
    assert [bucket.sentences for bucket in buckets.values()] == [2, 2, 2]
    assert all(0.0 <= bucket.bleu <= 100.0 for bucket in buckets.values())
    empty = bleu_by_source_length(greedy[:2], pairs[:2])
    assert empty["1-5"].sentences == 2 and empty["8-9"].sentences == 0 and math.isnan(empty["8-9"].bleu)
    with pytest.raises(ValueError, match="5 translations for 6 pairs"):
        bleu_by_source_length(greedy[:5], pairs)


def test_a_short_training_run_lowers_the_loss_per_token(data: TranslationData) -> None:
    small = dataclasses.replace(data, train=data.train[:300])
    torch.manual_seed(0)
    model = build_seq2seq(len(data.source_vocabulary), len(data.target_vocabulary), embedding_dim=16,
                          hidden_size=32, attention="dot")
    history = train_translation(model, small, epochs=3, device=CPU, batch_size=32, learning_rate=1e-2,
                                progress=False)
    target_tokens = sum(len(target) for _, target in small.encoded(small.train))
    assert history.examples == 3 * target_tokens
    assert history.epoch_losses[0] < math.log(len(data.target_vocabulary))
    assert history.epoch_losses[-1] < 0.8 * history.epoch_losses[0]


def test_plot_attention_puts_the_words_on_the_axes() -> None:
    weights = torch.softmax(torch.randn(3, 4), dim=1)
    ax = plot_attention(weights, ["je", "suis", "la", "<eos>"], ["i", "m", "here"])
    assert isinstance(ax, Axes)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["je", "suis", "la", "<eos>"]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["i", "m", "here"]
    with pytest.raises(ValueError, match="3 target and 3 source"):
        plot_attention(weights, ["je", "suis", "la"], ["i", "m", "here"])
