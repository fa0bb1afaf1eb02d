# Mistake: leaves out the tanh, so the additive score collapses to a linear function of s and h_j
# Replaces: additive_score
# Loses: test_additive_score
def additive_score(query, keys, query_weight, key_weight, v):
    hidden = (query @ query_weight.T)[:, None, :] + keys @ key_weight.T
    return hidden @ v
