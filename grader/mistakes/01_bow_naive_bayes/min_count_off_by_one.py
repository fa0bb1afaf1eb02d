# Mistake: keeps words seen MORE than min_count times, so min_count=1 drops every word seen once
# Replaces: build_vocab
# Loses: test_build_vocab
def build_vocab(tokenized_docs: list[list[str]], min_count: int = 1) -> dict[str, int]:
    counts = Counter(token for doc in tokenized_docs for token in doc)
    kept = [word for word in counts if counts[word] > min_count]
    return {word: index for index, word in enumerate(kept)}
