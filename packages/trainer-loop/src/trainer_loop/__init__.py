"""The Trainer: train, evaluate, predict, callbacks, checkpoints."""

__version__ = "0.1.0"

__all__: list[str] = []
