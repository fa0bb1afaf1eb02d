# Mistake: reads the outputs at the last position, which for a padded sentence is padding (zeros)
# Replaces: sentence_features
# Loses: test_sentiment_model
def sentence_features(outputs, finals):
    return outputs[:, -1]
