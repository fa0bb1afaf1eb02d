# Mistake: runs the GRU over the padded batch without packing, so the backward direction starts on padding
# Replaces: encode
# Loses: test_encode
def encode(encoder, source, lengths):
    outputs, final = encoder.gru(encoder.embedding(source))
    mask = torch.arange(source.size(1), device=source.device)[None, :] < lengths.to(source.device)[:, None]
    return Memory(outputs * mask[:, :, None], mask, torch.cat([final[0], final[1]], dim=-1))
