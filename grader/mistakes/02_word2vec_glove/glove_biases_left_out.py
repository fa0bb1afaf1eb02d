# Mistake: leaves the two bias terms out of the prediction, so log X_ij must be fitted by dot products alone
# Replaces: glove_model
# Loses: test_glove_loss
class GloVeModel(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, dim, sparse=True)
        self.context_embeddings = nn.Embedding(vocab_size, dim, sparse=True)
        self.word_biases = nn.Embedding(vocab_size, 1, sparse=True)
        self.context_biases = nn.Embedding(vocab_size, 1, sparse=True)
        for table in (self.word_embeddings, self.context_embeddings):
            nn.init.uniform_(table.weight, -0.5 / dim, 0.5 / dim)
        for table in (self.word_biases, self.context_biases):
            nn.init.zeros_(table.weight)

    def forward(self, rows, cols, counts):
        prediction = (self.word_embeddings(rows) * self.context_embeddings(cols)).sum(dim=-1)
        return 0.5 * glove_weight(counts) * (prediction - torch.log(counts)) ** 2
