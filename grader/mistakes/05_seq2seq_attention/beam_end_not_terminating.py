# Mistake: keeps extending hypotheses after they write the end id instead of setting them aside as finished
# Replaces: beam_search
# Loses: test_beam_search
@torch.no_grad()
def beam_search(model, source, beam_width=5, max_length=20):
    memory = model.encode(source[None], torch.tensor([len(source)]))
    state = memory.summary[None]
    live = [([], 0.0)]
    for _ in range(max_length):
        previous = torch.tensor([words[-1] if words else BOS_ID for words, _ in live], device=source.device)
        rows = torch.zeros(len(live), dtype=torch.long, device=source.device)
        logits, new_state, _ = model.decoder(previous, state[:, rows] if state.size(1) == 1 else state, memory.select(rows))
        totals = torch.tensor([score for _, score in live], device=logits.device)[:, None] + F.log_softmax(logits, -1)
        best = totals.flatten().topk(min(beam_width, totals.numel()))
        survivors, parents = [], []
        for total, index in zip(best.values.tolist(), best.indices.tolist()):
            parent, word = divmod(index, totals.size(1))
            survivors.append((live[parent][0] + [word], total))
            parents.append(parent)
        live, state = survivors, new_state[:, parents]
    return sorted(live, key=lambda hypothesis: -hypothesis[1])[:beam_width]
