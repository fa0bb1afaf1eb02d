# Mistake: puts the backward half before the forward half in each layer's outputs
# Replaces: stacked_rnn
# Loses: test_stacked_rnn
class StackedRNN(nn.Module):
    def __init__(self, cell_class, input_size, hidden_size, num_layers=1, bidirectional=False):
        super().__init__()
        self.num_layers, self.directions = num_layers, 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            cell_class(input_size if layer == 0 else hidden_size * self.directions, hidden_size)
            for layer in range(num_layers) for _ in range(self.directions))

    def forward(self, inputs, lengths):
        finals, layer_input = [], inputs
        for layer in range(self.num_layers):
            halves = []
            for direction in range(self.directions):
                outputs, state = run_layer(self.cells[layer * self.directions + direction], layer_input, lengths,
                                           reverse=direction == 1)
                halves.insert(0, outputs)
                finals.append(state)
            layer_input = torch.cat(halves, dim=-1)
        return layer_input, finals
