"""Run a worker script once per backend ("ours", "transformers") in parallel processes.

Libraries such as TRL bind their base classes at import time, so each backend needs its own
process; the worker writes ``<out>/<backend>.json`` and the test compares the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BACKENDS = ("ours", "transformers")


def run_on_both_backends(
    worker: str, out: Path, extra_args: list[str] | None = None, timeout: int = 900
) -> dict[str, Any]:
    """Start ``worker BACKEND OUT *extra_args`` for both backends; return each one's JSON."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    procs = {
        backend: subprocess.Popen(
            [sys.executable, worker, backend, str(out), *(extra_args or [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=str(out),
        )
        for backend in BACKENDS
    }
    results = {}
    for backend, proc in procs.items():
        output, _ = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{backend} worker failed:\n{output[-4000:]}"
        results[backend] = json.loads((Path(out) / f"{backend}.json").read_text())
    return results
