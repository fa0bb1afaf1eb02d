# Mistake: averages the cross-entropy over padded positions too, training the model to predict padding
# Replaces: sequence_loss
# Loses: test_sequence_loss
def sequence_loss(model, batch):
    source, lengths, inputs, targets = batch
    memory = model.encode(source, lengths)
    state, logits = memory.summary[None], []
    for t in range(inputs.size(1)):
        step_logits, state, _ = model.decoder(inputs[:, t], state, memory)
        logits.append(step_logits)
    logits = torch.stack(logits, dim=1)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
