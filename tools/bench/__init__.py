"""Side-by-side benchmark of trainer_loop.Trainer, transformers.Trainer and a raw PyTorch loop."""

from .run import main, run_all

__all__ = ["main", "run_all"]
