"""Logging, metrics files, FLOs, and the Hub and hyperparameter-search entry points."""

from __future__ import annotations

import logging
from typing import Any

from ..metrics import format_log_metrics, metrics_format, save_metrics, speed_metrics
from .memory import MemoryTracker

logger = logging.getLogger(__name__)


class ReportingMixin:
    """``log``, ``log_metrics``, ``save_metrics``, ``store_flos`` and friends for ``Trainer``."""

    def _init_reporting(self) -> None:
        """The memory tracker and Hub repository of this trainer (first in ``Trainer.__init__``)."""
        self._memory_tracker = MemoryTracker(self.args.skip_memory_metrics)
        self.hub_model_id: str | None = None
        self.push_in_progress: Any = None  # the Hub uploads still running in the background

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

    # ----------------------------------------------------------------------- Hub

    def _hub(self):
        try:
            import trainer_hub
        except ImportError as exc:
            raise ImportError(
                'Pushing to the Hub needs the trainer-hub package: pip install "trainer-loop[hub]".'
            ) from exc
        return trainer_hub

    def init_hf_repo(self, token: str | None = None) -> None:
        """Create (or reuse) the Hub repository named by ``hub_model_id`` or ``output_dir``."""
        if not self.is_world_process_zero():  # only the process that pushes talks to the Hub
            return
        self.hub_model_id = self._hub().init_repo(self.args, token=token)

    def create_model_card(
        self,
        language: str | None = None,
        license: str | None = None,
        tags: str | list[str] | None = None,
        model_name: str | None = None,
        finetuned_from: str | None = None,
        tasks: str | list[str] | None = None,
        dataset_tags: str | list[str] | None = None,
        dataset: str | list[str] | None = None,
        dataset_args: str | list[str] | None = None,
    ) -> None:
        """Write a ``README.md`` model card into ``output_dir`` describing this training run."""
        if not self.is_world_process_zero():
            return
        given = {
            "language": language,
            "license": license,
            "tags": tags,
            "model_name": model_name,
            "finetuned_from": finetuned_from,
            "tasks": tasks,
            "dataset_tags": dataset_tags,
            "dataset": dataset,
            "dataset_args": dataset_args,
        }
        self._hub().write_model_card(self, **{k: v for k, v in given.items() if v is not None})

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        **kwargs: Any,
    ):
        """Save the model and upload ``output_dir`` to the Hub; returns the commit information."""
        hub = self._hub()
        if self.hub_model_id is None:
            self.init_hf_repo(token=token)
        self.save_model(_internal_call=True)
        if not self.is_world_process_zero():
            return None
        self.control = self.callback_handler.on_push_begin(self.args, self.state, self.control)
        return hub.push_folder(
            self,
            commit_message=commit_message,
            blocking=blocking,
            token=token,
            revision=revision,
            **kwargs,
        )

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        if self.is_world_process_zero():
            self._hub().push_checkpoint(self, checkpoint_folder)

    def _finish_current_push(self) -> None:
        if self.args.push_to_hub and self.is_world_process_zero():
            self._hub().wait_for_pushes(self)
