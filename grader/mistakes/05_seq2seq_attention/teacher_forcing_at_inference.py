# Mistake: scores the teacher-forced predictions (the reference words fed back) instead of the model's own greedy translations
# Replaces: evaluate_bleu
# Loses: test_bleu
def evaluate_bleu(model, pairs, data, max_length=20):
    source, lengths, inputs, _ = (t.to(device) for t in collate_pairs(data.encoded(pairs)))
    with torch.no_grad():
        memory = model.encode(source, lengths)
        state, words = memory.summary[None], []
        for t in range(inputs.size(1)):
            logits, state, _ = model.decoder(inputs[:, t], state, memory)
            words.append(logits.argmax(-1))
    hypotheses = [data.target_vocabulary.decode(row) for row in torch.stack(words, dim=1).cpu()]
    return corpus_bleu(hypotheses, [pair.target for pair in pairs])
