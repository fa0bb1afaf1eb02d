# Mistake: takes the softmax over the embedding axis of m_i * u and sums it, so every slot gets the same weight
# Replaces: memory_read
# Loses: test_memory_read, test_memn2n_reference, test_training
def memory_read(u, m, c, mask, *, linear=False):
    products = m * u[:, None, :]  # (B, M, d)
    if linear:
        p = products.sum(-1).masked_fill(~mask, 0.0)
    else:
        p = torch.softmax(products, dim=-1).sum(-1).masked_fill(~mask, 0.0)  # (B, M), all ones
    return (p[:, None, :] @ c).squeeze(1), p
