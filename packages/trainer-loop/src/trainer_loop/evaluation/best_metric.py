"""Evaluating during training: reporting to a search trial, plateau schedules, the best metric."""

from __future__ import annotations

from typing import Any

import torch

from ..options import option_name


class BestMetricMixin:
    """The evaluation a training run does at its evaluation steps, and best-model tracking."""

    def _evaluate(
        self, trial, ignore_keys_for_eval, skip_scheduler: bool = False
    ) -> dict[str, float]:
        metrics = self.evaluate(ignore_keys=ignore_keys_for_eval)
        self._report_to_hp_search(trial, self.state.global_step, metrics)
        if (
            isinstance(self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            and not skip_scheduler
        ):
            self.lr_scheduler.step(metrics[self._metric_key(metrics)])
        return metrics

    def _metric_key(self, metrics: dict[str, float]) -> str:
        name = self.args.metric_for_best_model or "loss"
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise KeyError(
                f"metric_for_best_model={name!r} looks for '{key}', which the evaluation did not return. "
                f"Available metrics: {sorted(metrics)}. Return it from compute_metrics or choose one of these."
            )
        return key

    def _determine_best_metric(self, metrics: dict[str, float], trial: Any) -> bool:
        if self.args.metric_for_best_model is None:
            return False
        value = metrics[self._metric_key(metrics)]
        greater = bool(self.args.greater_is_better)
        if self.state.best_metric is None:
            self.state.best_metric = float("-inf") if greater else float("inf")
        better = value > self.state.best_metric if greater else value < self.state.best_metric
        if not better:
            return False
        self.state.best_metric = value
        if self._run is not None:
            self._run.last_best_step = self.state.global_step
        if option_name(self.args.save_strategy) in (
            "steps",
            "epoch",
        ):
            self.state.best_global_step = self.state.global_step
        return True
