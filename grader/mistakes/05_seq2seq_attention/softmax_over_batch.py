# Mistake: takes the softmax over the batch axis, so each source position's weights sum to 1 across sentences
# Replaces: attend
# Loses: test_attend
def attend(query, keys, values, mask, score):
    scores = score(query, keys).masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=0)
    return (weights[:, None, :] @ values).squeeze(1), weights
