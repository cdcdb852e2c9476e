"""Hyperparameter search on Ray Tune (``backend="ray"``, ``pip install "trainer-loop[ray]"``).

Each trial is a Ray task that trains a copy of the Trainer with the trial's values; evaluations
are reported to Tune with a checkpoint, so schedulers can stop trials early and a trial can
resume. Ray runs on the local machine unless ``ray.init(address=...)`` joined a cluster first.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from ..options import option_name
from ..results import PREFIX_CHECKPOINT_DIR, BestRun

logger = logging.getLogger(__name__)


def import_ray_tune() -> Any:
    """``ray.tune``, or an ``ImportError`` naming the extra that installs it."""
    try:
        import ray.tune
    except ImportError as exc:
        raise ImportError(
            'hyperparameter_search(backend="ray") needs Ray Tune: pip install "trainer-loop[ray]".'
        ) from exc
    return ray.tune


def default_hp_space_ray(trial: Any) -> dict[str, Any]:
    """Learning rate, epochs, seed and batch size as Ray Tune sampling domains."""
    tune = import_ray_tune()
    return {
        "learning_rate": tune.loguniform(1e-6, 1e-4),
        "num_train_epochs": tune.choice(list(range(1, 6))),
        "seed": tune.uniform(1, 40),
        "per_device_train_batch_size": tune.choice([4, 8, 16, 32, 64]),
    }


def tune_save_checkpoint(trainer: Any, checkpoint_dir: str) -> None:
    """Write the model, trainer state, optimizer and scheduler to ``checkpoint-<step>`` there."""
    from ..results import TRAINER_STATE_NAME

    output_dir = os.path.join(
        checkpoint_dir, f"{PREFIX_CHECKPOINT_DIR}-{trainer.state.global_step}"
    )
    trainer.save_model(output_dir, _internal_call=True)
    if trainer.args.should_save:
        trainer.state.save_to_json(os.path.join(output_dir, TRAINER_STATE_NAME))
        trainer._save_optimizer_and_scheduler(output_dir)


def report_trial_ray(trainer: Any, objective: Any, metrics: dict[str, float]) -> None:
    """Send an evaluation's metrics and objective to Tune, with a checkpoint of the trial."""
    tune = import_ray_tune()
    result = {"objective": objective, **metrics}
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = None
        if trainer.control.should_save:
            tune_save_checkpoint(trainer, folder)
            checkpoint = tune.Checkpoint.from_directory(folder)
        tune.report(result, checkpoint=checkpoint)


def _objective(trial: dict[str, Any], local_trainer: Any) -> None:
    tune = import_ray_tune()
    local_trainer.objective = None
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        # A resumed trial whose training is already complete would otherwise report again.
        local_trainer.objective = "objective"
        with checkpoint.as_directory() as folder:
            path = next(Path(folder).glob(f"{PREFIX_CHECKPOINT_DIR}*")).as_posix()
            local_trainer.train(resume_from_checkpoint=path, trial=trial)
    else:
        local_trainer.train(trial=trial)
    if getattr(local_trainer, "objective", None) is None:
        metrics = local_trainer.evaluate()
        local_trainer.objective = local_trainer.compute_objective(metrics)
        metrics.update({"objective": local_trainer.objective, "done": True})
        with tempfile.TemporaryDirectory() as folder:
            tune_save_checkpoint(local_trainer, folder)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def _check_scheduler(trainer: Any, scheduler: Any) -> None:
    # schedulers that act on results reported during training
    from ray.tune.schedulers import (
        ASHAScheduler,
        HyperBandForBOHB,
        MedianStoppingRule,
        PopulationBasedTraining,
    )

    intermediate = (ASHAScheduler, MedianStoppingRule, HyperBandForBOHB, PopulationBasedTraining)
    strategy = option_name(trainer.args.eval_strategy)
    if isinstance(scheduler, intermediate) and (not trainer.args.do_eval or strategy == "no"):
        name = type(scheduler).__name__
        raise RuntimeError(
            f"The Ray Tune scheduler {name} acts on results reported during training, but "
            "evaluation during training is off: pass do_eval=True and eval_strategy='steps' "
            "(or 'epoch'), or use a scheduler that needs no intermediate results."
        )


def run_hp_search_ray(trainer: Any, n_trials: int, direction: str, **kwargs: Any) -> BestRun:
    """Run ``n_trials`` trials with ``ray.tune.run`` and return the best one.

    ``kwargs`` go to ``ray.tune.run`` (``resources_per_trial``, ``scheduler``, ``search_alg``,
    ``storage_path``, ...). Without ``resources_per_trial`` each trial gets one CPU (and one GPU
    when the arguments see one). ``RAY_SCOPE`` (default ``"last"``) picks which reported result of
    a trial counts when ranking trials. ``BestRun.run_summary`` is Tune's ``ExperimentAnalysis``.
    """
    tune = import_ray_tune()
    from ..integrations.tensorboard import TensorBoardCallback

    if "scheduler" in kwargs:
        _check_scheduler(trainer, kwargs["scheduler"])

    # The model and a TensorBoard writer cannot be sent to the workers: each trial builds its own.
    tb_callback = trainer.pop_callback(TensorBoardCallback)
    trainer.model = None
    trainer.model_wrapped = None

    if "resources_per_trial" not in kwargs:
        kwargs["resources_per_trial"] = {"cpu": 1}
        if getattr(trainer.args, "n_gpu", 0) > 0:
            kwargs["resources_per_trial"]["gpu"] = 1
        logger.info(
            "No resources_per_trial given: each trial gets %s.", kwargs["resources_per_trial"]
        )
    trainer.args._n_gpu = kwargs["resources_per_trial"].get("gpu", 0)
    if "progress_reporter" not in kwargs:
        kwargs["progress_reporter"] = tune.CLIReporter(metric_columns=["objective"])

    trainable = tune.with_parameters(_objective, local_trainer=trainer)
    try:
        analysis = tune.run(
            trainable, config=trainer.hp_space(None), num_samples=n_trials, **kwargs
        )
    finally:
        if tb_callback is not None:
            trainer.add_callback(tb_callback)
    scope = os.getenv("RAY_SCOPE", "last")
    best = analysis.get_best_trial(metric="objective", mode=direction[:3], scope=scope)
    return BestRun(best.trial_id, best.last_result["objective"], best.config, analysis)
