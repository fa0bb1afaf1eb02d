# Mistake: rescales each array by its own norm rather than by the norm of all of them together
# Replaces: clip_grad_norm
# Loses: test_clip_grad_norm
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    return [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads], total
