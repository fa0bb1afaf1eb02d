# Mistake: embeds the question as a plain bag of words (no position encoding), the statements with it
# Replaces: memn2n
# Loses: test_memn2n_reference
class MemN2N(nn.Module):
    def __init__(self, vocab_size: int, *, memory_size: int, sentence_length: int, embedding_dim: int = 20,
                 hops: int = 3, init_std: float = 0.1) -> None:
        super().__init__()
        self.hops = hops
        self.linear_start = False
        self.embeddings = nn.ModuleList(nn.Embedding(vocab_size, embedding_dim, padding_idx=NULL_ID)
                                        for _ in range(hops + 1))
        self.temporal = nn.ParameterList(nn.Parameter(init_std * torch.randn(memory_size, embedding_dim))
                                         for _ in range(hops + 1))
        for embedding in self.embeddings:
            nn.init.normal_(embedding.weight, std=init_std)
            with torch.no_grad():
                embedding.weight[NULL_ID] = 0.0
        self.register_buffer("word_weights", position_encoding(sentence_length, embedding_dim))

    def embed_sentences(self, words: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
        return (embedding(words) * self.word_weights).sum(-2)

    def forward(self, stories: torch.Tensor, questions: torch.Tensor,
                memory_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = self.embeddings[0](questions).sum(-2)
        memories = [self.embed_sentences(stories, embedding) + temporal
                    for embedding, temporal in zip(self.embeddings, self.temporal)]
        attention = []
        for hop in range(self.hops):
            o, p = memory_read(u, memories[hop], memories[hop + 1], memory_mask, linear=self.linear_start)
            u = u + o
            attention.append(p)
        return u @ self.embeddings[-1].weight.T, torch.stack(attention, dim=1)
