# Mistake: records presence (1) instead of the count, so "really really" becomes 1
# Replaces: bag_of_words
# Loses: test_bag_of_words
def bag_of_words(tokenized_docs: list[list[str]], vocab: dict[str, int]) -> sp.csr_matrix:
    rows, columns = [], []
    for row, doc in enumerate(tokenized_docs):
        for word in set(token for token in doc if token in vocab):
            rows.append(row)
            columns.append(vocab[word])
    values = np.ones(len(rows), dtype=np.int64)
    return sp.csr_matrix((values, (rows, columns)), shape=(len(tokenized_docs), len(vocab)))
