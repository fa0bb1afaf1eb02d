# Mistake: uses a ReLU recurrence where the model (and nn.RNN's default) is tanh
# Replaces: char_rnn
# Loses: test_char_rnn
class CharRNN(nn.Module):
    def __init__(self, vocab_size, hidden_size, embedding_dim=64):
        super().__init__()
        bound = hidden_size ** -0.5
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.W_xh = nn.Parameter(torch.empty(hidden_size, embedding_dim).uniform_(-bound, bound))
        self.W_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.b_h = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.readout = nn.Linear(hidden_size, vocab_size)

    def forward(self, inputs, h=None):
        if h is None:
            h = self.W_hh.new_zeros(inputs.size(0), self.W_hh.size(0))
        drive = self.embedding(inputs) @ self.W_xh.T + self.b_h
        states = []
        for t in range(inputs.size(1)):
            h = torch.relu(drive[:, t] + h @ self.W_hh.T)
            states.append(h)
        return self.readout(torch.stack(states, dim=1)), h
