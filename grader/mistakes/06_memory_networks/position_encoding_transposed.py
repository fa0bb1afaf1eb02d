# Mistake: builds l as a (d, J) table (row k, column j) and reshapes it to (J, d) instead of transposing
# Replaces: position_encoding
# Loses: test_position_encoding
def position_encoding(J: int, d: int) -> torch.Tensor:
    j = torch.arange(1, J + 1, dtype=torch.float32)[None, :] / J  # (1, J)
    k = torch.arange(1, d + 1, dtype=torch.float32)[:, None] / d  # (d, 1)
    return ((1 - j) - k * (1 - 2 * j)).reshape(J, d)
