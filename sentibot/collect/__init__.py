"""Collectors: the polite HTTP layer, source health, and one module (or package) per source."""
