# Mistake: uses the inputs themselves as targets, so the model learns to copy instead of to predict
# Replaces: train_tbptt
# Loses: test_train_tbptt, test_validation_loss
def train_tbptt(model, streams, optimizer, seq_len, max_norm):
    model.train()
    h, total, count = None, 0.0, 0
    for start in range(0, streams.size(1) - 1, seq_len):
        end = min(start + seq_len, streams.size(1) - 1)
        inputs = targets = streams[:, start:end]
        logits, h = model(inputs, h)
        h = h.detach()
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        total += loss.item() * targets.numel()
        count += targets.numel()
    return total / count
