# Mistake: counts the documents that contain a word instead of the word's tokens (Bernoulli-style counts)
# Replaces: fit_naive_bayes
# Loses: test_fit_seed_example, test_fit_matches_sklearn
def fit_naive_bayes(X, y, alpha=1.0):
    n_classes = int(y.max()) + 1
    present = (X > 0).astype(np.int64)
    counts = np.vstack([np.asarray(present[y == c].sum(axis=0)).ravel() for c in range(n_classes)])
    log_prior = np.log(np.bincount(y, minlength=n_classes) / len(y))
    smoothed = counts + alpha
    with np.errstate(divide="ignore"):
        log_likelihood = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
    return log_prior, log_likelihood
