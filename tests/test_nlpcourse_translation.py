"""The French -> English pairs: normalisation, the tutorial's filter, the split, vocabularies, batches, BLEU."""

from __future__ import annotations

import pytest
import sacrebleu
import torch

from nlpcourse.translation import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNKNOWN_ID,
    SentencePair,
    Vocabulary,
    collate_pairs,
    corpus_bleu,
    detokenize,
    is_short_simple_pair,
    load_pairs,
    load_translation_data,
    normalize,
    read_pair_lines,
    split_by_source,
)


def test_normalize_strips_accents_and_separates_punctuation() -> None:
    assert normalize("  J'ai froid. ") == "j ai froid ."
    assert normalize("Ça va très bien !") == "ca va tres bien !"
    assert normalize("I'm 20, OK?") == "i m ok ?"


def test_the_file_and_the_filter_give_the_tutorials_counts() -> None:
    assert len(read_pair_lines()) == 135_842
    pairs = load_pairs()
    assert len(pairs) == 10_599
    assert len({w for p in pairs for w in p.source.split()}) == 4_343
    assert len({w for p in pairs for w in p.target.split()}) == 2_801
    assert all(is_short_simple_pair(p) for p in pairs)
    assert not is_short_simple_pair(SentencePair("il fait froid .", "it is cold ."))


def test_split_keeps_every_source_sentence_on_one_side_and_is_reproducible() -> None:
    pairs = load_pairs()
    train, test = split_by_source(pairs, 0.1, seed=0)
    assert len(train) + len(test) == len(pairs)
    assert not {p.source for p in train} & {p.source for p in test}
    assert 0.09 < len(test) / len(pairs) < 0.11
    assert split_by_source(pairs, 0.1, seed=0) == (train, test)
    assert split_by_source(pairs, 0.1, seed=1)[1] != test


def test_vocabulary_encodes_with_an_end_id_and_decodes_up_to_it() -> None:
    vocabulary = Vocabulary.build(["i am cold .", "i am tall ."])
    assert vocabulary.words[:4] == ("<pad>", "<bos>", "<eos>", "<unk>")
    assert vocabulary.words[4:] == (".", "am", "i", "cold", "tall")  # by falling count, then alphabetically
    ids = vocabulary.encode("i am hungry .")
    assert ids.tolist() == [6, 5, UNKNOWN_ID, 4, EOS_ID]
    assert vocabulary.decode([BOS_ID, *ids.tolist(), 5, PAD_ID]) == "i am <unk> ."
    assert vocabulary.decode(torch.tensor([6, 5])) == "i am"


def test_vocabularies_come_from_training_pairs_only() -> None:
    data = load_translation_data()
    assert {w for p in data.train for w in p.target.split()} == set(data.target_vocabulary.words[4:])
    assert {w for p in data.train for w in p.source.split()} == set(data.source_vocabulary.words[4:])
    encoded = data.encoded(data.test[:5])
    assert len(encoded) == 5 and all(s[-1] == EOS_ID and t[-1] == EOS_ID for s, t in encoded)


def test_collate_pairs_shifts_the_target_for_teacher_forcing() -> None:
    examples = [(torch.tensor([7, 8, EOS_ID]), torch.tensor([5, 6, 9, EOS_ID])),
                (torch.tensor([4, EOS_ID]), torch.tensor([5, EOS_ID]))]
    source, lengths, inputs, targets = collate_pairs(examples)
    assert source.tolist() == [[7, 8, EOS_ID], [4, EOS_ID, PAD_ID]]
    assert lengths.tolist() == [3, 2]
    assert inputs.tolist() == [[BOS_ID, 5, 6, 9], [BOS_ID, 5, PAD_ID, PAD_ID]]
    assert targets.tolist() == [[5, 6, 9, EOS_ID], [5, EOS_ID, PAD_ID, PAD_ID]]


def test_corpus_bleu_is_sacrebleus_on_detokenised_text() -> None:
    hypotheses, references = ["i m cold .", "he is tall !"], ["i m cold .", "he is very tall !"]
    assert detokenize("he is tall !") == "he is tall!"
    expected = sacrebleu.corpus_bleu(["i m cold.", "he is tall!"], [["i m cold.", "he is very tall!"]]).score
    assert corpus_bleu(hypotheses, references) == pytest.approx(expected)
    assert corpus_bleu(references, references) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="1 hypotheses for 2 references"):
        corpus_bleu(hypotheses[:1], references)
