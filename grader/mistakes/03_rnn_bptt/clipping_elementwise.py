# Mistake: clips every entry to [-max_norm, max_norm] instead of rescaling by the global norm
# Replaces: clip_grad_norm
# Loses: test_clip_grad_norm
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    return [np.clip(g, -max_norm, max_norm) for g in grads], total
