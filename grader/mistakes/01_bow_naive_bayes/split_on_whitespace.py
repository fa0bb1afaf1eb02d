# Mistake: splits on whitespace only, so punctuation sticks to words ("song!") and case is kept
# Replaces: tokenize
# Loses: test_tokenize
def tokenize(text: str) -> list[str]:
    return text.split()
