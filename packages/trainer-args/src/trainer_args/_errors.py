"""Helpers that build the one-sentence error messages raised for bad arguments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def did_you_mean(value: Any, allowed: Iterable[str]) -> str:
    """Return ``"did you mean 'x'?"`` for the closest allowed choice, or an empty string."""
    if not isinstance(value, str):
        return ""
    import difflib  # only needed on the error path

    matches = difflib.get_close_matches(value.lower(), list(allowed), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else ""


def invalid_choice(name: str, value: Any, allowed: Iterable[str]) -> ValueError:
    """Build the error for a value that is not one of the allowed choices of ``name``."""
    allowed = list(allowed)
    listed = ", ".join(repr(a) for a in allowed)
    hint = did_you_mean(value, allowed)
    end = f"; {hint}" if hint else "."
    return ValueError(f"{name}={value!r} is not valid; allowed values are {listed}{end}")


def invalid_value(name: str, value: Any, expected: str) -> ValueError:
    """Build the error for a value of ``name`` that breaks a constraint described by ``expected``."""
    return ValueError(f"{name}={value!r} is not valid: {expected}.")
