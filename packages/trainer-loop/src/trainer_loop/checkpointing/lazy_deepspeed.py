"""Keep ``save_pretrained`` from importing DeepSpeed (about a second) when no DeepSpeed is in use.

transformers' ``save_pretrained`` unwraps the model through accelerate, which imports
``deepspeed`` whenever the package is installed, only to test ``isinstance(model,
DeepSpeedEngine)``. While ``deepspeed`` has not been imported, no object can be a
``DeepSpeedEngine``, so answering "not available" for the duration of the call changes nothing
but the import time of the first save.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["deepspeed_import_skipped"]


def _not_available() -> bool:
    return False


@contextlib.contextmanager
def deepspeed_import_skipped() -> Iterator[None]:
    """Within the block, accelerate's model unwrapping does not import ``deepspeed``."""
    other = sys.modules.get("accelerate.utils.other")
    if "deepspeed" in sys.modules or other is None or not hasattr(other, "is_deepspeed_available"):
        yield
        return
    original = other.is_deepspeed_available
    other.is_deepspeed_available = _not_available
    try:
        yield
    finally:
        if other.is_deepspeed_available is _not_available:
            other.is_deepspeed_available = original
