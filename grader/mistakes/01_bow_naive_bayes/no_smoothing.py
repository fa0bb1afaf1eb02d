# Mistake: ignores alpha, so a word never seen with a class gets probability 0 (log -inf) for that class
# Replaces: fit_naive_bayes
# Loses: test_fit_matches_sklearn, test_accuracy
def fit_naive_bayes(X, y, alpha=1.0):
    n_classes = int(y.max()) + 1
    counts = np.vstack([np.asarray(X[y == c].sum(axis=0)).ravel() for c in range(n_classes)])
    log_prior = np.log(np.bincount(y, minlength=n_classes) / len(y))
    with np.errstate(divide="ignore"):
        log_likelihood = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
    return log_prior, log_likelihood
