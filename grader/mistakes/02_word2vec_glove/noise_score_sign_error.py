# Mistake: log sigma(+u_k . v_c) for the noise words, which rewards the model for predicting them
# Replaces: sgns_model
# Loses: test_sgns_forward, test_sgns_quality
class SkipGramNegSampling(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.center_embeddings = nn.Embedding(vocab_size, dim, sparse=True)
        self.context_embeddings = nn.Embedding(vocab_size, dim, sparse=True)
        nn.init.uniform_(self.center_embeddings.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context_embeddings.weight)

    def forward(self, centers, contexts, negatives):
        v = self.center_embeddings(centers)
        true_score = (self.context_embeddings(contexts) * v).sum(dim=-1)
        noise_scores = torch.bmm(self.context_embeddings(negatives), v.unsqueeze(-1)).squeeze(-1)
        return -F.logsigmoid(true_score) - F.logsigmoid(noise_scores).sum(dim=-1)
