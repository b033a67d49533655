"""Chinese text: tokens, sentiment, mentions and notice classes."""
