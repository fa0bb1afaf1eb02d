# Mistake: scores each step against the word it was fed (decoder_inputs) instead of the next word, so the model learns to copy
# Replaces: sequence_loss
# Loses: test_sequence_loss, test_translation_quality
def sequence_loss(model, batch):
    source, lengths, inputs, targets = batch
    memory = model.encode(source, lengths)
    state, logits = memory.summary[None], []
    for t in range(inputs.size(1)):
        step_logits, state, _ = model.decoder(inputs[:, t], state, memory)
        logits.append(step_logits)
    logits = torch.stack(logits, dim=1)
    real = inputs != PAD_ID
    return F.cross_entropy(logits[real], inputs[real], reduction="none")
