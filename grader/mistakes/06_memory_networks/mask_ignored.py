# Mistake: ignores the memory mask, so empty slots take part of the attention
# Replaces: memory_read
# Loses: test_memory_read
def memory_read(u, m, c, mask, *, linear=False):
    scores = (m @ u[:, :, None]).squeeze(-1)
    p = scores.masked_fill(~mask, 0.0) if linear else torch.softmax(scores, dim=-1)
    return (p[:, None, :] @ c).squeeze(1), p
