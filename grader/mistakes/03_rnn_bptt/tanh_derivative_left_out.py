# Mistake: back-propagates through the step as if tanh were the identity (no 1 - h^2 factor)
# Replaces: rnn_step
# Loses: test_rnn_step_backward, test_rnn_backward
def rnn_step_forward(x, h_prev, W_xh, W_hh, b):
    h_next = np.tanh(x @ W_xh.T + h_prev @ W_hh.T + b)
    return h_next, (x, h_prev, W_xh, W_hh, h_next)


def rnn_step_backward(dh_next, cache):
    x, h_prev, W_xh, W_hh, h_next = cache
    da = dh_next
    return da @ W_xh, da @ W_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)
