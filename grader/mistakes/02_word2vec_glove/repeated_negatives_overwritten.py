# Mistake: grad[idx] += ... with repeated noise words keeps one term instead of adding them all
# Replaces: neg_sampling
# Loses: test_neg_sampling_gradcheck
def neg_sampling_loss_and_gradient(center_vec, outside_idx, outside_vectors, negative_indices):
    u_true = outside_vectors[outside_idx]
    u_noise = outside_vectors[negative_indices]
    true_score, noise_scores = u_true @ center_vec, u_noise @ center_vec
    loss = np.logaddexp(0.0, -true_score) + np.logaddexp(0.0, noise_scores).sum()
    true_coef = 1.0 / (1.0 + np.exp(-true_score)) - 1.0
    noise_coef = 1.0 / (1.0 + np.exp(-noise_scores))
    grad_center = true_coef * u_true + noise_coef @ u_noise
    grad_outside = np.zeros_like(outside_vectors)
    grad_outside[outside_idx] += true_coef * center_vec
    grad_outside[negative_indices] += noise_coef[:, None] * center_vec
    return float(loss), grad_center, grad_outside
