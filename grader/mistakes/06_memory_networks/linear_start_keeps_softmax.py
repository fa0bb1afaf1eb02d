# Mistake: ignores linear=True and always applies the softmax
# Replaces: memory_read
# Loses: test_memory_read_linear
def memory_read(u, m, c, mask, *, linear=False):
    scores = (m @ u[:, :, None]).squeeze(-1)
    p = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return (p[:, None, :] @ c).squeeze(1), p
