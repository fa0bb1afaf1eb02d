# Mistake: passes the translations to BLEU as strings of token ids instead of decoded text
# Replaces: evaluate_bleu
# Loses: test_bleu, test_translation_quality
def evaluate_bleu(model, pairs, data, max_length=20):
    source, lengths, _, _ = collate_pairs(data.encoded(pairs))
    translations = greedy_decode(model, source.to(device), lengths.to(device), max_length).cpu()
    hypotheses = [" ".join(str(i) for i in row.tolist() if i != PAD_ID) for row in translations]
    return corpus_bleu(hypotheses, [pair.target for pair in pairs])
