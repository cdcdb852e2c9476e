"""The search side of ``Trainer``: ``hyperparameter_search`` and what a trial changes in a run.

The backends (:mod:`.optuna_backend`, :mod:`.ray_backend`) decide (the arguments a trial sets,
the objective, whether to prune); this mixin applies those decisions to the trainer and fires
the events.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


class SearchMixin:
    """``hyperparameter_search`` and the trial hooks the training loop calls."""

    def _init_search(self) -> None:
        """The search attributes transformers' ``Trainer`` has (set by ``hyperparameter_search``)."""
        self.hp_name: Any = None
        self.hp_search_backend: Any = None
        self.hp_space: Any = None
        self.compute_objective: Any = None
        self.objective: Any = None

    def hyperparameter_search(
        self,
        hp_space=None,
        compute_objective=None,
        n_trials: int = 20,
        direction: str | list[str] = "minimize",
        backend=None,
        hp_name=None,
        **kwargs,
    ):
        """Search hyperparameters with optuna; returns the best run (or runs, for several objectives)."""
        from .optuna_backend import run_hyperparameter_search

        return run_hyperparameter_search(
            self,
            hp_space=hp_space,
            compute_objective=compute_objective,
            n_trials=n_trials,
            direction=direction,
            backend=backend,
            hp_name=hp_name,
            **kwargs,
        )

    def _hp_search_setup(self, trial: Any) -> None:
        """Apply a search trial's hyperparameters to the arguments (and what depends on them)."""
        if trial is None:
            return
        from .optuna_backend import trial_arguments

        params = trial if isinstance(trial, dict) else self.hp_space(trial)
        for key, value in trial_arguments(self.args, params).items():
            setattr(self.args, key, value)
        self._train_batch_size = self.args.train_batch_size
        self.create_accelerator_and_postprocess()
        logger.info("Trial: %s", params)

    def _report_to_hp_search(self, trial: Any, step: int, metrics: dict[str, float]) -> None:
        """Give an evaluation to the search; stop the trial when the search prunes it."""
        if trial is None or self.hp_search_backend is None:
            return
        from .optuna_backend import report_trial

        objective = self.compute_objective(dict(metrics))

        def report_ray() -> None:
            from .ray_backend import report_trial_ray

            report_trial_ray(self, objective, metrics)

        report = report_trial(self.hp_search_backend, trial, step, objective, report_ray)
        self.objective = report.objective
        if report.prune:
            self.callback_handler.on_train_end(self.args, self.state, self.control)
            raise report.prune_error()
