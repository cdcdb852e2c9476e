"""Optimizers and learning-rate schedules keyed by the documented names."""

__version__ = "0.1.0"

__all__: list[str] = []
