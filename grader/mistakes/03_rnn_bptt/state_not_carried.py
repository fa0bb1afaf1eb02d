# Mistake: starts every step from h0 instead of the previous step's state
# Replaces: rnn_forward
# Loses: test_rnn_forward, test_rnn_backward
def rnn_forward(x, h0, W_xh, W_hh, b):
    states, caches = [], []
    for t in range(x.shape[1]):
        h, cache = rnn_step_forward(x[:, t], h0, W_xh, W_hh, b)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches
