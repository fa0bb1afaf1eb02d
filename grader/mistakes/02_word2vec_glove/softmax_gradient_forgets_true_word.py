# Mistake: uses y_hat instead of y_hat - y in the gradients (the -u_o term of the true word is forgotten)
# Replaces: naive_softmax
# Loses: test_naive_softmax_values, test_naive_softmax_gradcheck
def naive_softmax_loss_and_gradient(center_vec, outside_idx, outside_vectors):
    scores = outside_vectors @ center_vec
    scores = scores - scores.max()
    probs = np.exp(scores) / np.exp(scores).sum()
    loss = -np.log(probs[outside_idx])
    return float(loss), outside_vectors.T @ probs, np.outer(probs, center_vec)
