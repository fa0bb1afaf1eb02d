# Mistake: keeps the weight gradients of the last step processed (t = 1) instead of summing over all steps
# Replaces: rnn_backward
# Loses: test_rnn_backward
def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dW_xh, dW_hh, db = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
    return dx, dh_prev, dW_xh, dW_hh, db
