"""One question the loop asks in several places: does this object replace hook ``name``?

The loop skips work that a default hook would not do (moving inputs that stay on the CPU,
entering an empty loss context, counting FLOs, writing checkpoints in the background), but only
while the hook is the default one: a subclass that overrides it, or an instance that assigns it,
gets its own code called as transformers would call it.
"""

from __future__ import annotations

from typing import Any


def overrides(obj: Any, name: str, default_owner: type) -> bool:
    """Whether ``obj`` replaces ``default_owner.name``, in its class or on the instance."""
    return getattr(type(obj), name) is not getattr(default_owner, name) or name in getattr(
        obj, "__dict__", ()
    )


def overrides_any(obj: Any, names: tuple[str, ...], default_owner: type) -> str | None:
    """The first of ``names`` that ``obj`` replaces (see :func:`overrides`), or None."""
    cls, own = type(obj), getattr(obj, "__dict__", ())
    for name in names:  # a plain loop: the step calls this
        if getattr(cls, name) is not getattr(default_owner, name) or name in own:
            return name
    return None
