# Mistake: each step sees only its own upstream gradient; the gradient from h_{t+1} back to h_t is dropped
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
    dW_xh, dW_hh, db = np.zeros((H, D)), np.zeros((H, H)), np.zeros(H)
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dW_xh_t, dW_hh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dW_xh += dW_xh_t
        dW_hh += dW_hh_t
        db += db_t
    return dx, dh_prev, dW_xh, dW_hh, db
