"""The training loop: ``train()``, setting up a run, data loaders and the optimizer."""
