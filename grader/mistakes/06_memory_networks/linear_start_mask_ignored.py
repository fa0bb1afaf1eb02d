# Mistake: with linear=True it returns the raw scores of every slot, empty ones included
# Replaces: memory_read
# Loses: test_memory_read_linear
def memory_read(u, m, c, mask, *, linear=False):
    scores = (m @ u[:, :, None]).squeeze(-1)
    p = scores if linear else torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return (p[:, None, :] @ c).squeeze(1), p
