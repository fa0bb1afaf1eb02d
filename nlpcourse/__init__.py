"""Helpers shared by the course notebooks: data, corpora, devices, profiles, seeding, training and plots."""

__all__ = [
    "babi", "brackets", "cell_models", "charlm", "corpus", "data", "device", "display", "download", "echo_state",
    "embedding_models", "gated_experiments", "gradcheck", "gradient_flow", "gru_variants", "hidden_units", "memnet",
    "plots", "profiles", "qa_data", "qa_training", "rnn_basics", "seeding", "seq2seq", "sequence_tasks", "training",
    "translation", "word2vec", "wordvectors",
]
