"""Helpers shared by the course notebooks: data, corpora, devices, profiles, seeding, training and plots."""

__all__ = [
    "corpus", "data", "device", "display", "embedding_models", "gradcheck", "plots", "profiles", "seeding", "training", "word2vec", "wordvectors",
]
