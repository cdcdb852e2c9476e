"""Cheap context managers for the per-batch code (entered once per batch or micro-batch)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

NO_CONTEXT = contextlib.nullcontext()


class grad_disabled:  # noqa: N801 - used like torch.no_grad
    """``torch.no_grad()`` around an optional inner context, without no_grad's per-use set-up.

    Evaluation enters it once per batch; on a small model ``torch.no_grad()``'s own Python
    overhead is a measurable share of the step.
    """

    __slots__ = ("_inner", "_previous")

    def __init__(self, inner: contextlib.AbstractContextManager | None = None):
        self._inner = inner

    def __enter__(self) -> None:
        self._previous = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        if self._inner is not None:
            try:
                self._inner.__enter__()
            except BaseException:
                torch._C._set_grad_enabled(self._previous)
                raise

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            return self._inner.__exit__(*exc) if self._inner is not None else None
        finally:
            torch._C._set_grad_enabled(self._previous)
