"""Argument options as plain strings, whichever enum (or bare string) holds them."""

from __future__ import annotations

from typing import Any

__all__ = ["option_name"]


def option_name(value: Any) -> str:
    """``IntervalStrategy.STEPS``, ``SaveStrategy.STEPS`` and ``"steps"`` all read ``"steps"``."""
    return value if type(value) is str else str(getattr(value, "value", value))
