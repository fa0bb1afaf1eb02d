# Mistake: starts from the last prefix character alone with a zero state, forgetting the rest of the prefix
# Replaces: sample
# Loses: test_sample
def sample(model, vocabulary, prefix, n, temperature=1.0, generator=None):
    device = next(model.parameters()).device
    drawn = []
    with torch.no_grad():
        logits, h = model(vocabulary.encode(prefix[-1])[None].to(device))
        for _ in range(n):
            probabilities = F.softmax(logits[0, -1] / temperature, dim=-1).cpu()
            next_id = torch.multinomial(probabilities, 1, generator=generator)
            drawn.append(int(next_id))
            logits, h = model(next_id[None].to(device), h)
    return vocabulary.decode(drawn)
