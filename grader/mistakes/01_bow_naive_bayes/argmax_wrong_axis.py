# Mistake: takes the argmax over documents (axis 0) instead of over classes, returning C labels, not n
# Replaces: predict
# Loses: test_predict, test_accuracy
def predict(log_prior, log_likelihood, X):
    return predict_log_proba(log_prior, log_likelihood, X).argmax(axis=0)
