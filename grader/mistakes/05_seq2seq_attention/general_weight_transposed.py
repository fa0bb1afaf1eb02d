# Mistake: multiplies the keys by W instead of W^T, computing s^T W^T h, which only fits square W by accident
# Replaces: general_score
# Loses: test_general_score
def general_score(query, keys, weight):
    return ((keys @ weight) @ query[:, :, None]).squeeze(-1)
