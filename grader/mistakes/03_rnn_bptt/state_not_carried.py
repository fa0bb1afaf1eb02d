# Mistake: starts every step from h0 instead of the previous step's state
# Replaces: rnn_sequence
# Loses: test_rnn_forward, test_rnn_backward
def rnn_forward(x, h0, W_xh, W_hh, b):
    states, caches = [], []
    for t in range(x.shape[1]):
        h, cache = rnn_step_forward(x[:, t], h0, W_xh, W_hh, b)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dW_xh, dW_hh, db = np.zeros((H, D)), np.zeros((H, H)), np.zeros(H)
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dW_xh_t, dW_hh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
        dW_xh += dW_xh_t
        dW_hh += dW_hh_t
        db += db_t
    return dx, dh_prev, dW_xh, dW_hh, db
