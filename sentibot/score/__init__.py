"""Scoring: pure pandas over the stored history, levels, rescoring and replay."""
