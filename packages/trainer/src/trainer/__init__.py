"""Drop-in replacement for the transformers Trainer API (meta-package)."""

__version__ = "0.1.0"

__all__: list[str] = []
