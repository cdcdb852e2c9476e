"""TrainingArguments, enums and the argument parser (no torch at import)."""

__version__ = "0.1.0"

__all__: list[str] = []
