# Mistake: updates every row at every step, padding included, so final states come from the pads
# Replaces: run_layer
# Loses: test_stacked_rnn, test_sentiment_model
def run_layer(cell, inputs, lengths, reverse=False):
    state = initial_state(cell, inputs.size(0), inputs)
    outputs = [None] * inputs.size(1)
    for t in (reversed(range(inputs.size(1))) if reverse else range(inputs.size(1))):
        state = cell(inputs[:, t], state)
        outputs[t] = hidden_of(state)
    return torch.stack(outputs, dim=1), state
