# Mistake: keeps writing words in rows that have already written the end id instead of padding them
# Replaces: greedy_decode
# Loses: test_greedy_decode
@torch.no_grad()
def greedy_decode(model, source, lengths, max_length=20):
    memory = model.encode(source, lengths)
    state = memory.summary[None]
    previous = torch.full((source.size(0),), BOS_ID, dtype=torch.long, device=source.device)
    finished = torch.zeros(source.size(0), dtype=torch.bool, device=source.device)
    words = []
    for _ in range(max_length):
        logits, state, _ = model.decoder(previous, state, memory)
        previous = logits.argmax(-1)
        words.append(previous)
        finished |= previous == EOS_ID
        if finished.all():
            break
    return torch.stack(words, dim=1)
