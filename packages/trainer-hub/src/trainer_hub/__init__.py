"""Model cards and pushing checkpoints to the Hugging Face Hub."""

__version__ = "0.1.0"

__all__: list[str] = []
