"""Trainers built on the loop: ``RaftTrainer``."""

from .raft import RaftTrainer

__all__ = ["RaftTrainer"]
