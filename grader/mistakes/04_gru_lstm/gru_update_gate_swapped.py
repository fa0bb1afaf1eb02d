# Mistake: swaps z and 1 - z, so a z near 1 replaces the state instead of keeping it (Cho et al.'s labelling, not nn.GRU's)
# Replaces: gru_cell
# Loses: test_gru_cell
def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    input_r, input_z, input_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    state_r, state_z, state_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(input_r + state_r)
    z = torch.sigmoid(input_z + state_z)
    n = torch.tanh(input_n + r * state_n)
    return z * n + (1 - z) * h
