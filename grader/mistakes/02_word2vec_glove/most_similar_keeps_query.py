# Mistake: does not leave the query word out, so every word's nearest neighbour is itself
# Replaces: most_similar
# Loses: test_most_similar
def most_similar(word, words, vectors, k=5):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit @ unit[words.index(word)]
    best = np.argsort(-cosines)[:k]
    return [(words[i], float(cosines[i])) for i in best]
