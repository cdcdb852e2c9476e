"""Kept for code that imports it from here; the module is :mod:`.checkpointing.background`."""

from .checkpointing.background import BackgroundCheckpointing, CheckpointWriteError, wait_for_writer

__all__ = ["BackgroundCheckpointing", "CheckpointWriteError", "wait_for_writer"]
