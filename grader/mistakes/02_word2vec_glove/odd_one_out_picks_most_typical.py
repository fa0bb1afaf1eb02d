# Mistake: returns the candidate most similar to the mean instead of the least similar
# Replaces: odd_one_out
# Loses: test_odd_one_out
def odd_one_out(candidates, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = unit[[words.index(w) for w in candidates]]
    mean = chosen.mean(axis=0)
    return candidates[int(np.argmax(chosen @ (mean / np.linalg.norm(mean))))]
