"""Memory metrics for ``skip_memory_metrics=False``: host (and CUDA) memory used per stage.

Stages are ``init`` (``Trainer.__init__``), ``train``, ``eval`` and ``test`` (``predict``). For
each, ``<stage>_mem_cpu_alloc_delta`` is the resident memory at the end minus at the start and
``<stage>_mem_cpu_peaked_delta`` how far above the end the peak went (``_gpu_`` keys likewise with
CUDA's allocator). The ``init`` numbers and ``before_init_mem_cpu`` are added to the first metrics
reported after construction. An evaluation run inside training is not measured on its own. Needs
``psutil``; without it nothing is added.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import torch


class MemoryTracker:
    """Measure one stage at a time; a stage started while another runs is ignored."""

    def __init__(self, skip: bool = True):
        self.skip = skip
        self.process = None
        if not skip:
            try:
                import psutil
            except ImportError:
                self.skip = True
            else:
                self.process = psutil.Process()
        self.cuda = torch.cuda.is_available()
        self.stage: str | None = None
        self.cpu: dict[str, dict[str, int]] = {}
        self.gpu: dict[str, dict[str, int]] = {}
        self.init_reported = False
        self._watching = False
        self._watcher: threading.Thread | None = None
        self._cpu_peak = 0

    def _rss(self) -> int:
        return self.process.memory_info().rss

    def _watch(self) -> None:
        while self._watching:
            self._cpu_peak = max(self._cpu_peak, self._rss())
            time.sleep(0.0005)

    def start(self, stage: str) -> None:
        if self.skip or (self.stage is not None and self.stage != stage):
            return
        self.stage = stage
        gc.collect()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.empty_cache()
            self._gpu_start = torch.cuda.memory_allocated()
        self._cpu_start = self._cpu_peak = self._rss()
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def stop(self, stage: str, metrics: dict[str, Any] | None = None) -> None:
        """End ``stage`` and, given ``metrics``, add its numbers (and the init ones, once) to it."""
        if self.skip or self.stage != stage:
            return
        self._watching = False
        if self._watcher is not None:
            self._watcher.join()
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            now = torch.cuda.memory_allocated()
            self.gpu[stage] = {
                "begin": self._gpu_start,
                "alloc": now - self._gpu_start,
                "peaked": max(0, torch.cuda.max_memory_allocated() - now),
            }
        now = self._rss()
        self.cpu[stage] = {
            "begin": self._cpu_start,
            "alloc": now - self._cpu_start,
            "peaked": max(0, max(self._cpu_peak, now) - now),
        }
        self.stage = None
        if metrics is not None:
            self._report(stage, metrics)

    def _report(self, stage: str, metrics: dict[str, Any]) -> None:
        stages = [stage]
        if not self.init_reported:
            stages.insert(0, "init")
            self.init_reported = True
        for name in stages:
            for kind in ("alloc", "peaked"):
                if name in self.cpu:
                    metrics[f"{name}_mem_cpu_{kind}_delta"] = self.cpu[name][kind]
                if self.cuda and name in self.gpu:
                    metrics[f"{name}_mem_gpu_{kind}_delta"] = self.gpu[name][kind]
        if stages[0] == "init" and "init" in self.cpu:
            metrics["before_init_mem_cpu"] = self.cpu["init"]["begin"]
            if self.cuda and "init" in self.gpu:
                metrics["before_init_mem_gpu"] = self.gpu["init"]["begin"]
