# Mistake: counts the word position j and the dimension k from 0 instead of 1
# Replaces: position_encoding
# Loses: test_position_encoding
def position_encoding(J: int, d: int) -> torch.Tensor:
    j = torch.arange(J, dtype=torch.float32)[:, None] / J  # (J, 1)
    k = torch.arange(d, dtype=torch.float32)[None, :] / d  # (1, d)
    return (1 - j) - k * (1 - 2 * j)
