# Mistake: ignores the mask, so padded source positions get attention weight
# Replaces: attend
# Loses: test_attend
def attend(query, keys, values, mask, score):
    weights = torch.softmax(score(query, keys), dim=-1)
    return (weights[:, None, :] @ values).squeeze(1), weights
