# Mistake: samples noise words from the plain unigram distribution, ignoring the 3/4 power
# Replaces: noise_distribution
# Loses: test_noise_distribution
def noise_distribution(counts, power=0.75):
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum()
