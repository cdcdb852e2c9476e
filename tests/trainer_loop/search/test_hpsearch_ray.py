"""hyperparameter_search(backend="ray") on a local Ray instance, against the optuna backend."""

from __future__ import annotations

import sys

import pytest
from helpers import models
from helpers.ray_local import start_local_ray

pytestmark = pytest.mark.slow

GRID = [0.01, 0.1, 0.3]


def _trainer(tmp_path, **overrides):
    from trainer_args import TrainingArguments
    from trainer_loop import Trainer

    settings = dict(
        output_dir=str(tmp_path / "out"),
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        per_device_train_batch_size=8,
        max_steps=8,
        logging_steps=4,
        eval_strategy="steps",
        eval_steps=4,
        save_strategy="steps",
        save_steps=4,
        hub_token="hf_doNotLogThisToken0123456789",
    )
    settings.update(overrides)
    return Trainer(
        model_init=lambda: models.RegressionModel(),
        args=TrainingArguments(**settings),
        train_dataset=models.RegressionDataset(length=64),
        eval_dataset=models.RegressionDataset(length=16, seed=1),
    )


def _eval_loss(metrics):
    return metrics["eval_loss"]


def test_ray_search_finds_the_optuna_best_and_each_trial_reaches_the_tracker(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    tune = pytest.importorskip("ray.tune")
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    from ray import cloudpickle

    store = f"file://{tmp_path}/mlruns"
    for key, value in {
        "HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AIR_NEW_OUTPUT": "0",
        "COMET_ERROR_TRACKING_ENABLE": "false",
    }.items():
        monkeypatch.setenv(key, value)
    # an experiment id exported by an earlier mlflow run in this process belongs to its store
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    # Workers cannot import the test folders: send these modules' code along with the trainer.
    cloudpickle.register_pickle_by_value(models)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    start_local_ray(monkeypatch, num_cpus=2)
    try:
        best_ray = _trainer(tmp_path, report_to=["mlflow"]).hyperparameter_search(
            backend="ray",
            hp_space=lambda _: {"learning_rate": tune.grid_search(GRID)},
            n_trials=1,  # one sample of the grid: each value once
            compute_objective=_eval_loss,
            resources_per_trial={"cpu": 1},
            storage_path=str(tmp_path / "ray_results"),
            verbose=0,
        )
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        cloudpickle.unregister_pickle_by_value(models)

    best_optuna = _trainer(tmp_path / "optuna").hyperparameter_search(
        backend="optuna",
        hp_space=lambda t: {"learning_rate": t.suggest_categorical("learning_rate", GRID)},
        n_trials=len(GRID),
        compute_objective=_eval_loss,
        sampler=optuna.samplers.GridSampler({"learning_rate": GRID}),
    )
    assert best_ray.hyperparameters["learning_rate"] == best_optuna.hyperparameters["learning_rate"]
    assert best_ray.objective == pytest.approx(best_optuna.objective, rel=1e-6)

    trials = best_ray.run_summary.trials
    assert sorted(t.config["learning_rate"] for t in trials) == GRID
    assert best_ray.run_id in {t.trial_id for t in trials}
    assert all(t.checkpoint is not None for t in trials)  # checkpoints reported with results

    # every trial logged its own MLflow run, whose last eval_loss is the trial's objective
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    logged = {float(r.data.params["learning_rate"]): r.data.metrics["eval_loss"] for r in runs}
    reported = {t.config["learning_rate"]: t.last_result["objective"] for t in trials}
    assert logged == pytest.approx(reported, rel=1e-6)
    assert all(r.data.params["hub_token"] == "<HUB_TOKEN>" for r in runs)


def test_hosted_and_unknown_backends_say_why(tmp_path):
    trainer = _trainer(tmp_path)
    with pytest.raises(ValueError, match="wandb server"):
        trainer.hyperparameter_search(backend="wandb")
    with pytest.raises(ValueError, match="SigOpt"):
        trainer.hyperparameter_search(backend="sigopt")
    with pytest.raises(ValueError, match="'optuna' or 'ray'"):
        trainer.hyperparameter_search(backend="hyperopt")


def test_ray_scheduler_needing_evaluation_is_refused(tmp_path):
    pytest.importorskip("ray.tune")
    from ray.tune.schedulers import ASHAScheduler

    trainer = _trainer(tmp_path, eval_strategy="no", save_strategy="no")
    with pytest.raises(RuntimeError, match="eval_strategy"):
        trainer.hyperparameter_search(backend="ray", scheduler=ASHAScheduler(), n_trials=1)


def test_ray_default_space_uses_tune_domains():
    tune = pytest.importorskip("ray.tune")
    from trainer_loop.search.ray_backend import default_hp_space_ray

    space = default_hp_space_ray(None)
    assert set(space) == {
        "learning_rate",
        "num_train_epochs",
        "seed",
        "per_device_train_batch_size",
    }
    assert all(isinstance(v, tune.search.sample.Domain) for v in space.values())
