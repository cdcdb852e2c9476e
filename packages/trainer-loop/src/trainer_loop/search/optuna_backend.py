"""Hyperparameter search: optuna (``pip install "trainer-loop[optuna]"``) or Ray Tune.

The Ray backend lives in ``ray_backend``; this module picks the backend, works out the arguments
a trial sets and reports evaluations back to the search; the trainer applies what they return.
"""

from __future__ import annotations

import logging
from typing import Any

from ..options import option_name
from ..results import BestRun, HPSearchBackend

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


def trial_arguments(args: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The ``TrainingArguments`` fields a trial sets, each converted to the field's current type.

    Keys that are not fields are left out, with a warning; the caller applies the rest.
    """
    chosen: dict[str, Any] = {}
    for key, value in params.items():
        if not hasattr(args, key):
            logger.warning("Trial parameter %r is not a TrainingArguments field; ignoring it.", key)
            continue
        current = getattr(args, key)
        if (
            current is not None
            and not isinstance(current, bool)
            and isinstance(current, (int, float))
        ):
            value = type(current)(value)
        chosen[key] = value
    return chosen


class TrialReport:
    """What the search makes of one evaluation: the ``objective``, and whether to stop the trial
    (``prune``; raise ``prune_error`` then, after ``on_train_end``)."""

    __slots__ = ("objective", "prune", "prune_error")

    def __init__(self, objective: Any, prune: bool = False, prune_error: Any = None) -> None:
        self.objective = objective
        self.prune = prune
        self.prune_error = prune_error


def report_trial(
    backend: Any, trial: Any, step: int, objective: Any, report_ray: Any = None
) -> TrialReport:
    """Hand ``objective`` to the search: optuna may decide to prune; Ray Tune records it."""
    if str(backend) == "ray":
        report_ray()
        return TrialReport(objective)
    if isinstance(trial, dict) or isinstance(objective, (list, tuple)):
        return TrialReport(objective)
    optuna = _import_optuna()
    if getattr(trial.study, "_is_multi_objective", lambda: False)():
        return TrialReport(objective)
    trial.report(objective, step)
    return TrialReport(objective, trial.should_prune(), optuna.TrialPruned)


_HOSTED_BACKENDS = {
    "wandb": "W&B sweeps are run by the wandb server (there is no offline sweep controller)",
    "sigopt": "SigOpt was a hosted optimisation service and has been shut down",
}


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def resolve_backend(backend: Any) -> str:
    """The backend's name: the one given, else optuna when installed, else ray.

    Backends that need a hosted service raise ``ValueError`` saying so; an unknown one raises
    ``ValueError`` listing the choices; no backend installed raises ``ImportError`` naming the
    extras.
    """
    if backend is None:
        if _has_module("optuna"):
            return "optuna"
        if _has_module("ray.tune"):
            return "ray"
        raise ImportError(
            'hyperparameter_search needs optuna or Ray Tune: pip install "trainer-loop[optuna]" '
            'or pip install "trainer-loop[ray]".'
        )
    name = option_name(backend)
    if name in _HOSTED_BACKENDS:
        raise ValueError(
            f"hyperparameter_search(backend={name!r}) is not available: {_HOSTED_BACKENDS[name]}. "
            "Use backend='optuna' (in-process) or backend='ray' (local or cluster)."
        )
    if name not in ("optuna", "ray"):
        raise ValueError(
            f"hyperparameter_search(backend={name!r}) is not supported; choose 'optuna' or 'ray'."
        )
    return name


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
    """Run ``n_trials`` trainings with optuna or Ray Tune and return the best one(s)."""
    name = resolve_backend(backend)
    if trainer.model_init is None:
        raise RuntimeError(
            "hyperparameter_search needs a Trainer built with `model_init` (a fresh model per trial)."
        )
    if name == "ray":
        from .ray_backend import default_hp_space_ray, import_ray_tune, run_hp_search_ray

        if not isinstance(direction, str):
            raise ValueError(
                f"hyperparameter_search(backend='ray') takes one direction, got {direction!r}."
            )
        import_ray_tune()
        trainer.hp_search_backend = HPSearchBackend.RAY
        trainer.hp_space = hp_space or default_hp_space_ray
        trainer.hp_name = hp_name
        trainer.compute_objective = compute_objective or default_compute_objective
        return run_hp_search_ray(trainer, n_trials, direction, **kwargs)
    return _run_optuna(trainer, hp_space, compute_objective, n_trials, direction, hp_name, **kwargs)


def _run_optuna(
    trainer: Any,
    hp_space,
    compute_objective,
    n_trials: int,
    direction: str | list[str],
    hp_name,
    **kwargs: Any,
) -> BestRun | list[BestRun]:
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
