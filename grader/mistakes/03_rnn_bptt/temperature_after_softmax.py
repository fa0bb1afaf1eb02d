# Mistake: divides the probabilities by the temperature after the softmax, which renormalises to no change
# Replaces: sample
# Loses: test_sample_temperature
def sample(model, vocabulary, prefix, n, temperature=1.0, generator=None):
    device = next(model.parameters()).device
    drawn = []
    with torch.no_grad():
        logits, h = model(vocabulary.encode(prefix)[None].to(device))
        for _ in range(n):
            probabilities = (F.softmax(logits[0, -1], dim=-1) / temperature).cpu()
            next_id = torch.multinomial(probabilities, 1, generator=generator)
            drawn.append(int(next_id))
            logits, h = model(next_id[None].to(device), h)
    return vocabulary.decode(drawn)
