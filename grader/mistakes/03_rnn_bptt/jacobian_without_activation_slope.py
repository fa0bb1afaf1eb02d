# Mistake: leaves out diag(f'(a_t)), so the tanh Jacobian is taken to be W_hh^(T-k) as in the linear case
# Replaces: jacobian_norms
# Loses: test_jacobian_norms
def jacobian_norms(W_hh, drive, h0, activation="tanh"):
    steps = len(drive)
    jacobian, norms = np.eye(len(h0)), np.zeros(steps)
    for t in reversed(range(steps)):
        jacobian = jacobian @ W_hh
        norms[t] = np.linalg.norm(jacobian, 2)
    return norms
