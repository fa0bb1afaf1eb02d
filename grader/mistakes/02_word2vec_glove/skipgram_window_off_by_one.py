# Mistake: the window loop stops one short (range(1, window)), so the farthest context word on each side is lost
# Replaces: skipgram_pairs
# Loses: test_skipgram_pairs
def skipgram_pairs(tokens, window):
    pairs = []
    for position, center in enumerate(tokens):
        for offset in [*range(-window + 1, 0), *range(1, window)]:
            if 0 <= position + offset < len(tokens):
                pairs.append((center, tokens[position + offset]))
    return pairs
