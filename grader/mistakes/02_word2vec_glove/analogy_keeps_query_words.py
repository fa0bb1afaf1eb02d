# Mistake: lets the query words compete, so b - a + c usually answers b itself
# Replaces: using_vectors
# Loses: test_analogy
def most_similar(word, words, vectors, k=5):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = words.index(word)
    cosines = unit @ unit[query]
    cosines[query] = -np.inf
    best = np.argsort(-cosines)[:k]
    return [(words[i], float(cosines[i])) for i in best]


def analogy(a, b, c, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    target = unit[words.index(b)] - unit[words.index(a)] + unit[words.index(c)]
    return words[int(np.argmax(unit @ (target / np.linalg.norm(target))))]


def odd_one_out(candidates, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = unit[[words.index(w) for w in candidates]]
    mean = chosen.mean(axis=0)
    return candidates[int(np.argmin(chosen @ (mean / np.linalg.norm(mean))))]

