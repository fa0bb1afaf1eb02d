# Mistake: back-propagates through the step as if tanh were the identity (no 1 - h^2 factor)
# Replaces: rnn_step_backward
# Loses: test_rnn_step_backward, test_rnn_backward
def rnn_step_backward(dh_next, cache):
    x, h_prev, W_xh, W_hh, h_next = cache
    da = dh_next
    return da @ W_xh, da @ W_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)
