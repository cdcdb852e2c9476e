"""Evaluation and prediction: the batch loop, collecting outputs, and best-metric tracking."""
