# Mistake: attends with the previous state s_{t-1} as the query instead of the new state s_t
# Replaces: decoder_step
# Loses: test_decoder_step
def decoder_step(decoder, previous, state, memory):
    query = state[-1]
    output, state = decoder.gru(decoder.embedding(previous)[:, None, :], state)
    if decoder.score is None:
        return decoder.out(output[:, 0]), state, None
    context, weights = attend(query, memory.outputs, memory.outputs, memory.mask, decoder.score)
    return decoder.out(torch.tanh(decoder.combine(torch.cat([context, output[:, 0]], dim=-1)))), state, weights
