# Mistake: each step sees only its own upstream gradient; the gradient from h_{t+1} back to h_t is dropped
# Replaces: rnn_backward
# Loses: test_rnn_backward
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
