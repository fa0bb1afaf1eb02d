# Mistake: multiplies by W_hh instead of its transpose, which only agrees when W_hh is symmetric
# Replaces: rnn_step_forward
# Loses: test_rnn_step_forward, test_rnn_step_backward, test_rnn_forward, test_rnn_backward
def rnn_step_forward(x, h_prev, W_xh, W_hh, b):
    h_next = np.tanh(x @ W_xh.T + h_prev @ W_hh + b)
    return h_next, (x, h_prev, W_xh, W_hh, h_next)
