# Mistake: applies the reset gate to h before the product (the paper's form) instead of to W_hn h + b_hn
# Replaces: gru_cell
# Loses: test_gru_cell
def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h.size(-1)
    input_r, input_z, input_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    state_r, state_z, _ = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(input_r + state_r)
    z = torch.sigmoid(input_z + state_z)
    n = torch.tanh(input_n + (r * h) @ weight_hh[2 * H:].T + bias_hh[2 * H:])
    return (1 - z) * n + z * h
