# Mistake: accumulates hypothesis scores by adding probabilities instead of log-probabilities
# Replaces: beam_search
# Loses: test_beam_search
@torch.no_grad()
def beam_search(model, source, beam_width=5, max_length=20):
    memory = model.encode(source[None], torch.tensor([len(source)]))
    state = memory.summary[None]
    live, finished = [([], 0.0)], []
    for _ in range(max_length):
        previous = torch.tensor([words[-1] if words else BOS_ID for words, _ in live], device=source.device)
        rows = torch.zeros(len(live), dtype=torch.long, device=source.device)
        logits, new_state, _ = model.decoder(previous, state[:, rows] if state.size(1) == 1 else state, memory.select(rows))
        totals = torch.tensor([score for _, score in live], device=logits.device)[:, None] + F.softmax(logits, -1)
        best = totals.flatten().topk(min(beam_width, totals.numel()))
        survivors, parents = [], []
        for total, index in zip(best.values.tolist(), best.indices.tolist()):
            parent, word = divmod(index, totals.size(1))
            hypothesis = (live[parent][0] + [word], total)
            if word == EOS_ID:
                finished.append(hypothesis)
            else:
                survivors.append(hypothesis)
                parents.append(parent)
        if len(finished) >= beam_width or not survivors:
            break
        live, state = survivors, new_state[:, parents]
    return sorted(finished or live, key=lambda hypothesis: -hypothesis[1])[:beam_width]
