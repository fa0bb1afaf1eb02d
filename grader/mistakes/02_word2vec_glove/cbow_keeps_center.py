# Mistake: the context slice includes the center word itself
# Replaces: cbow_examples
# Loses: test_cbow_examples
def cbow_examples(tokens, window):
    return [(tokens[max(0, i - window):i + 1 + window], center) for i, center in enumerate(tokens)]
