# Mistake: lets the query words compete, so b - a + c usually answers b itself
# Replaces: analogy
# Loses: test_analogy
def analogy(a, b, c, words, vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    target = unit[words.index(b)] - unit[words.index(a)] + unit[words.index(c)]
    return words[int(np.argmax(unit @ (target / np.linalg.norm(target))))]
