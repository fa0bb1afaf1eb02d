# Mistake: zeroes the padded weights after the softmax without renormalising, so rows sum to less than 1
# Replaces: attend
# Loses: test_attend
def attend(query, keys, values, mask, score):
    weights = torch.softmax(score(query, keys), dim=-1) * mask
    return (weights[:, None, :] @ values).squeeze(1), weights
