# Mistake: divides the dot product by sqrt(H), the transformer's scaled score, which is not the dot score asked for
# Replaces: dot_score
# Loses: test_dot_score
def dot_score(query, keys):
    return (keys @ query[:, :, None]).squeeze(-1) / query.size(-1) ** 0.5
