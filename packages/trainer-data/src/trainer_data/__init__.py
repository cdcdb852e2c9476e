"""Collators, samplers, column handling and dataloaders for the trainer."""

__version__ = "0.1.0"

__all__: list[str] = []
