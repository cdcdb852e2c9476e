"""Runtime: devices, mixed precision and distributed training through accelerate."""

__version__ = "0.1.0"

__all__: list[str] = []
