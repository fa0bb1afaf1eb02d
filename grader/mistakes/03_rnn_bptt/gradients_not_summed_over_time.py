# Mistake: keeps the weight gradients of the last step processed (t = 1) instead of summing over all steps
# Replaces: rnn_sequence
# Loses: test_rnn_backward
def rnn_forward(x, h0, W_xh, W_hh, b):
    h_prev, states, caches = h0, [], []
    for t in range(x.shape[1]):
        h_prev, cache = rnn_step_forward(x[:, t], h_prev, W_xh, W_hh, b)
        states.append(h_prev)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dW_xh, dW_hh, db = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
    return dx, dh_prev, dW_xh, dW_hh, db
