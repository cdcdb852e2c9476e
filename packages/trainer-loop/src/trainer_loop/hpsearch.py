"""Hyperparameter search with optuna (``pip install "trainer-loop[optuna]"``)."""

from __future__ import annotations

import logging
from typing import Any

from .results import BestRun

logger = logging.getLogger(__name__)

_SPEED_SUFFIXES = ("_runtime", "_per_second", "_compilation_time", "_model_preparation_time")


def default_hp_space_optuna(trial: Any) -> dict[str, Any]:
    """Learning rate, epochs, seed and batch size: the search space used when none is given."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-6, 1e-4, log=True),
        "num_train_epochs": trial.suggest_int("num_train_epochs", 1, 5),
        "seed": trial.suggest_int("seed", 1, 40),
        "per_device_train_batch_size": trial.suggest_categorical(
            "per_device_train_batch_size", [4, 8, 16, 32, 64]
        ),
    }


def default_compute_objective(metrics: dict[str, float]) -> float:
    """The evaluation loss when it is the only metric, else the sum of the other metrics."""
    metrics = dict(metrics)
    loss = metrics.pop("eval_loss", None)
    metrics.pop("epoch", None)
    rest = {k: v for k, v in metrics.items() if not k.endswith(_SPEED_SUFFIXES)}
    return loss if not rest else sum(rest.values())


def _import_optuna():
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            'hyperparameter_search needs optuna: pip install "trainer-loop[optuna]".'
        ) from exc
    return optuna


def apply_trial(trainer: Any, trial: Any) -> None:
    """Set each of the trial's hyperparameters on ``trainer.args``."""
    trainer._trial = trial
    params = trial if isinstance(trial, dict) else trainer.hp_space(trial)
    for key, value in params.items():
        if not hasattr(trainer.args, key):
            logger.warning("Trial parameter %r is not a TrainingArguments field; ignoring it.", key)
            continue
        current = getattr(trainer.args, key)
        if (
            current is not None
            and not isinstance(current, bool)
            and isinstance(current, (int, float))
        ):
            value = type(current)(value)
        setattr(trainer.args, key, value)
    trainer._train_batch_size = trainer.args.train_batch_size
    trainer.create_accelerator_and_postprocess()
    logger.info("Trial: %s", params)


def report_trial(trainer: Any, trial: Any, step: int, metrics: dict[str, float]) -> None:
    """Record the objective and let optuna prune an unpromising trial."""
    trainer.objective = trainer.compute_objective(dict(metrics))
    if isinstance(trial, dict) or isinstance(trainer.objective, (list, tuple)):
        return
    optuna = _import_optuna()
    if getattr(trial.study, "_is_multi_objective", lambda: False)():
        return
    trial.report(trainer.objective, step)
    if trial.should_prune():
        trainer.callback_handler.on_train_end(trainer.args, trainer.state, trainer.control)
        raise optuna.TrialPruned()


def run_hyperparameter_search(
    trainer: Any,
    hp_space=None,
    compute_objective=None,
    n_trials: int = 20,
    direction: str | list[str] = "minimize",
    backend=None,
    hp_name=None,
    **kwargs: Any,
) -> BestRun | list[BestRun]:
    """Run ``n_trials`` trainings with optuna and return the best one(s)."""
    if backend is not None and str(getattr(backend, "value", backend)) != "optuna":
        raise ValueError(
            f"backend={backend!r} is not supported; this library searches with 'optuna'."
        )
    if trainer.model_init is None:
        raise RuntimeError(
            "hyperparameter_search needs a Trainer built with `model_init` (a fresh model per trial)."
        )
    optuna = _import_optuna()
    trainer.hp_search_backend = "optuna"
    trainer.hp_space = hp_space or default_hp_space_optuna
    trainer.hp_name = hp_name
    trainer.compute_objective = compute_objective or default_compute_objective

    def objective(trial):
        trainer.objective = None
        trainer.train(trial=trial)
        if trainer.objective is None:
            trainer.objective = trainer.compute_objective(trainer.evaluate())
        return trainer.objective

    timeout = kwargs.pop("timeout", None)
    n_jobs = kwargs.pop("n_jobs", 1)
    gc_after_trial = kwargs.pop("gc_after_trial", False)
    directions = direction if isinstance(direction, list) else None
    study = optuna.create_study(
        direction=None if directions else direction, directions=directions, **kwargs
    )
    study.optimize(
        objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, gc_after_trial=gc_after_trial
    )
    if directions:
        return [BestRun(str(t.number), t.values, t.params) for t in study.best_trials]
    best = study.best_trial
    return BestRun(str(best.number), best.value, best.params)
