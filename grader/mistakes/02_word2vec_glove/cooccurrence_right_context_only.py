# Mistake: counts each pair once, from the left word to the right word, so X is not symmetric
# Replaces: cooccurrence
# Loses: test_cooccurrence
def cooccurrence_matrix(sentences, vocabulary, window, distance_weighting=False):
    index = {word: i for i, word in enumerate(vocabulary)}
    counts = {}
    for sentence in sentences:
        ids = [index[word] for word in sentence if word in index]
        for position, center in enumerate(ids):
            for distance in range(1, min(window, len(ids) - 1 - position) + 1):
                other = ids[position + distance]
                counts[center, other] = counts.get((center, other), 0.0) + (1.0 / distance if distance_weighting else 1.0)
    rows = [i for i, _ in counts]
    cols = [j for _, j in counts]
    return sp.csr_matrix((list(counts.values()), (rows, cols)), shape=(len(vocabulary), len(vocabulary)))
