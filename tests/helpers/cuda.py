"""The shared CUDA skip: ``pytestmark = [pytest.mark.gpu, requires_cuda]`` in a GPU test module."""

from __future__ import annotations

import pytest


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device (False, not an error, without torch)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


requires_cuda = pytest.mark.skipif(not cuda_available(), reason="needs a CUDA device")
