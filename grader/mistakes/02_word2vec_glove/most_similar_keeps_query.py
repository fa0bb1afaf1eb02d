# Mistake: does not leave the query word out, so every word's nearest neighbour is itself
# Replaces: using_vectors
# Loses: test_most_similar
def most_similar(word, words, vectors, k=5):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit @ unit[words.index(word)]
    best = np.argsort(-cosines)[:k]
    return [(words[i], float(cosines[i])) for i in best]


def analogy(a, b, c, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [words.index(w) for w in (a, b, c)]
    target = unit[ids[1]] - unit[ids[0]] + unit[ids[2]]
    cosines = unit @ (target / np.linalg.norm(target))
    cosines[ids] = -np.inf
    return words[int(np.argmax(cosines))]


def odd_one_out(candidates, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = unit[[words.index(w) for w in candidates]]
    mean = chosen.mean(axis=0)
    return candidates[int(np.argmin(chosen @ (mean / np.linalg.norm(mean))))]

