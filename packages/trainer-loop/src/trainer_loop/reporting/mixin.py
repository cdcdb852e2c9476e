"""Logging, metrics files, FLOs and memory metrics."""

from __future__ import annotations

import logging

from ..metrics import format_log_metrics, metrics_format, save_metrics, speed_metrics
from .memory import MemoryTracker

logger = logging.getLogger(__name__)


class ReportingMixin:
    """``log``, ``log_metrics``, ``save_metrics``, ``store_flos`` and friends for ``Trainer``."""

    def _init_reporting(self) -> None:
        """The memory tracker of this trainer (first in ``Trainer.__init__``)."""
        self._memory_tracker = MemoryTracker(self.args.skip_memory_metrics)

    def _memory_start(self, stage: str) -> None:
        """Start measuring memory for ``stage`` ("init", "train", "eval" or "test")."""
        self._memory_tracker.start(stage)

    def _memory_stop(self, stage: str, metrics: dict[str, float] | None = None) -> None:
        """Stop measuring ``stage`` and add its memory metrics to ``metrics``."""
        self._memory_tracker.stop(stage, metrics)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Record ``logs`` in ``state.log_history`` (with epoch and step) and pass them to callbacks."""
        if self.state.epoch is not None:
            logs["epoch"] = self.state.epoch
        if str(self.args.include_num_input_tokens_seen) not in ("no", "False"):
            logs["num_input_tokens_seen"] = self.state.num_input_tokens_seen
            if start_time is not None:
                run = self._run
                seen = self.state.num_input_tokens_seen - (
                    run.initial_tokens_seen if run is not None else 0
                )
                logs.update(speed_metrics("train", start_time, num_tokens=seen))
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self.control = self.callback_handler.on_log(self.args, self.state, self.control, logs)

    def log_metrics(self, split: str, metrics: dict[str, float]) -> None:
        """Print ``metrics`` for ``split`` in a readable block (main process only)."""
        if self.is_world_process_zero():
            print(format_log_metrics(split, metrics))

    @staticmethod
    def metrics_format(metrics: dict[str, float]) -> dict[str, float]:
        """A readable copy of ``metrics``: memory in MB, runtimes as clocks, FLOs in GF."""
        return metrics_format(metrics)

    def save_metrics(self, split: str, metrics: dict[str, float], combined: bool = True) -> None:
        """Write ``<split>_results.json`` (and merge ``all_results.json``) in ``output_dir``."""
        if self.is_world_process_zero():
            save_metrics(self.args.output_dir, split, metrics, combined=combined)

    def store_flos(self) -> None:
        """Add the FLOs counted since the last call to ``state.total_flos`` (summed over processes)."""
        if self.accelerator.num_processes > 1:
            import torch

            total = self.accelerator.reduce(
                torch.tensor(float(self.current_flos), device=self.args.device), "sum"
            )
            self.state.total_flos += float(total.item())
        else:
            self.state.total_flos += self.current_flos
        self.current_flos = 0.0
