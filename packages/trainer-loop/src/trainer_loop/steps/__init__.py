"""One micro-batch: inputs, loss, forward and backward, clipping, counts (shared by training and
evaluation)."""
