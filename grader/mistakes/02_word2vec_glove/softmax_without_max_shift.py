# Mistake: exponentiates the raw scores, so large scores overflow to inf and the loss becomes nan
# Replaces: naive_softmax
# Loses: test_naive_softmax_values
def naive_softmax_loss_and_gradient(center_vec, outside_idx, outside_vectors):
    scores = outside_vectors @ center_vec
    probs = np.exp(scores) / np.exp(scores).sum()
    loss = -np.log(probs[outside_idx])
    delta = probs.copy()
    delta[outside_idx] -= 1.0
    return float(loss), outside_vectors.T @ delta, np.outer(delta, center_vec)
