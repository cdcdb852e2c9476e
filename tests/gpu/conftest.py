"""GPU tests (``pytest -m gpu``; each module is marked ``gpu`` and skips without CUDA).

cuBLAS reads ``CUBLAS_WORKSPACE_CONFIG`` when CUDA starts; deterministic algorithms (the exact
resume tests) need it, so it is set here, before any test touches the device.
"""

from __future__ import annotations

import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
