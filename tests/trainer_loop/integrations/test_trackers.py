"""Every report_to tracker on its real client, offline, read back with the client's own format.

One short training per tracker (module-scoped); everything it writes stays under a temporary
folder and nothing reaches the network (offline modes, HOME in the temporary folder).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from helpers import tracker_readers as readers
from helpers.models import RegressionDataset, RegressionModel
from helpers.tracker_readers import CLIENTS

pytestmark = pytest.mark.slow

TOKEN = "hf_doNotLogThisToken0123456789"
RUN_NAME = "tracked-run"


def offline_env(root: Path) -> dict[str, str]:
    """Environment that keeps every client offline and inside ``root``."""
    return {
        "HOME": str(root),
        "XDG_CACHE_HOME": str(root / ".cache"),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "HF_HOME": str(root / "hf"),
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(root),
        "WANDB_SILENT": "true",
        "WANDB_PROJECT": "trainer-tests",
        "MLFLOW_TRACKING_URI": f"file://{root}/mlruns",
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "MLFLOW_EXPERIMENT_NAME": "trainer-tests",
        "TRACKIO_DIR": str(root / "trackio"),
        "COMET_START_ONLINE": "false",
        "COMET_OFFLINE_DIRECTORY": str(root / "comet"),
        "COMET_AUTO_LOG_ENV_DETAILS": "false",
        "COMET_AUTO_LOG_CODE": "false",
        "COMET_AUTO_LOG_GIT_METADATA": "false",
        "COMET_AUTO_LOG_GIT_PATCH": "false",
        "COMET_AUTO_LOG_ENV_CPU": "false",
        "COMET_AUTO_LOG_ENV_GPU": "false",
        "COMET_AUTO_LOG_ENV_HOST": "false",
        "COMET_AUTO_LOG_OUTPUT_LOGGER": "false",
        "COMET_ERROR_TRACKING_ENABLE": "false",
        "DVC_NO_ANALYTICS": "1",
        "CLEARML_OFFLINE_MODE": "1",
        "CLEARML_LOG_MODEL": "false",
        "SWANLAB_MODE": "local",
        "SWANLAB_LOG_DIR": str(root / "swanlog"),
        "NEPTUNE_MODE": "offline",
        "CODECARBON_COUNTRY_ISO_CODE": "FRA",
        "CODECARBON_LOG_LEVEL": "error",
        "DISABLE_MLFLOW_INTEGRATION": "FALSE",
    }


def apply_offline_env(monkeypatch, root: Path) -> None:
    """Set :func:`offline_env`; whatever the clients add to the environment is undone after."""
    for key, value in offline_env(root).items():
        monkeypatch.setenv(key, value)
    # mlflow.set_experiment exports MLFLOW_EXPERIMENT_ID for child processes: registering the
    # variable here makes monkeypatch remove it again at the end of the test
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")


class _Config:
    """The part of a transformers config the trackers read."""

    def to_dict(self) -> dict:
        return {"model_type": "regression", "hidden_size": 1}


def configured_model() -> RegressionModel:
    model = RegressionModel()
    model.config = _Config()
    return model


def train_with(root: Path, report_to: str, **overrides):
    from trainer_args import TrainingArguments
    from trainer_loop import Trainer

    settings = dict(
        output_dir=str(root / "out"),
        report_to=[report_to],
        run_name=RUN_NAME,
        use_cpu=True,
        disable_tqdm=True,
        per_device_train_batch_size=8,
        max_steps=8,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=4,
        save_strategy="no",
        learning_rate=0.1,
        hub_token=TOKEN,
        trackio_space_id=None,
    )
    settings.update(overrides)
    trainer = Trainer(
        model=configured_model(),
        args=TrainingArguments(**settings),
        train_dataset=RegressionDataset(length=64),
        eval_dataset=RegressionDataset(length=16, seed=1),
    )
    trainer.train()
    return trainer


def _callback(trainer, cls_name: str):
    (callback,) = [c for c in trainer.callback_handler.callbacks if type(c).__name__ == cls_name]
    return callback


def finish(trainer, name: str) -> None:
    """Close what the Trainer leaves open at the end of training, as a script's exit would."""
    if name == "wandb":
        import wandb

        wandb.finish()
        wandb.teardown()  # stops wandb's service, which writes the run file out
    elif name == "comet_ml":
        _callback(trainer, "CometCallback")._experiment.end()
    elif name == "swanlab":
        import swanlab

        swanlab.finish()


def read_back(name: str, root: Path) -> readers.Readback:
    if name == "wandb":
        return readers.read_wandb(str(root))
    if name == "mlflow":
        return readers.read_mlflow(f"file://{root}/mlruns")
    if name == "trackio":
        return readers.read_trackio("huggingface", RUN_NAME)
    if name == "comet_ml":
        return readers.read_comet(str(root / "comet"))
    if name == "dvclive":
        return readers.read_dvclive(str(root / "dvclive"))
    if name == "clearml":
        return readers.read_clearml(str(root))
    if name == "swanlab":
        return readers.read_swanlab(str(root / "swanlog"))
    return readers.read_neptune(str(root))


def _point_trackio_at(root: Path, monkeypatch) -> None:
    # trackio resolves its folder when first imported: make sure it is this run's folder.
    import trackio.sqlite_storage
    import trackio.utils

    for module in (trackio.utils, trackio.sqlite_storage):
        monkeypatch.setattr(module, "TRACKIO_DIR", root / "trackio", raising=False)


def _skip_clearml_repository_scan(monkeypatch) -> None:
    # ClearML runs git in the repository of the running script (here: pytest's, this checkout);
    # the test turns that scan off and keeps everything else of the callback's own Task.init.
    from clearml import Task

    original = Task.init.__func__

    def init(cls, *args, **kwargs):
        frameworks = dict(kwargs.get("auto_connect_frameworks") or {})
        kwargs["auto_connect_frameworks"] = {**frameworks, "detect_repository": False}
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(Task, "init", classmethod(init))


@dataclass
class TrackedRun:
    name: str
    root: Path
    history: list[dict]
    readback: readers.Readback
    output_dir: str


@pytest.fixture(scope="module", params=sorted(CLIENTS))
def tracked(request, tmp_path_factory) -> TrackedRun:
    name = request.param
    pytest.importorskip(CLIENTS[name])
    root = tmp_path_factory.mktemp(f"tracker_{name}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        apply_offline_env(monkeypatch, root)
        monkeypatch.delenv("COMET_API_KEY", raising=False)
        monkeypatch.chdir(root)
        if name == "trackio":
            _point_trackio_at(root, monkeypatch)
        if name == "clearml":
            _skip_clearml_repository_scan(monkeypatch)
        trainer = train_with(root, name)
        finish(trainer, name)
        readback = read_back(name, root)
    return TrackedRun(name, root, trainer.state.log_history, readback, trainer.args.output_dir)


def _expected(history: list[dict], key: str) -> list[tuple[int, float]]:
    return [(entry["step"], entry[key]) for entry in history if key in entry]


@pytest.mark.parametrize("key", ["loss", "eval_loss", "learning_rate", "grad_norm"])
def test_logged_series_equal_log_history(tracked, key):
    expected = _expected(tracked.history, key)
    got = tracked.readback.series.get(key)
    assert got is not None, f"{tracked.name} logged no {key!r}: {sorted(tracked.readback.series)}"
    if tracked.name == "dvclive":
        # DVCLive counts its own steps (one per log call): compare the values in order.
        assert [v for _, v in got] == pytest.approx([v for _, v in expected], rel=1e-6)
    else:
        got, expected = sorted(got), sorted(expected)
        assert [step for step, _ in got] == [step for step, _ in expected]
        assert [v for _, v in got] == pytest.approx([v for _, v in expected], rel=1e-6)


def _value(config: dict, key: str):
    for candidate in (key, f"args/{key}", f"args|{key}"):
        if candidate in config:
            value = config[candidate]
            return value.get("value", value) if isinstance(value, dict) else value
    raise AssertionError(f"{key!r} not in the logged config: {sorted(config)[:20]}...")


def test_run_config_holds_the_training_arguments(tracked):
    config = tracked.readback.config
    assert float(_value(config, "learning_rate")) == pytest.approx(0.1)
    assert int(_value(config, "per_device_train_batch_size")) == 8
    assert int(_value(config, "max_steps")) == 8
    assert str(_value(config, "output_dir")) == tracked.output_dir
    assert str(_value(config, "run_name")) == RUN_NAME


def _all_bytes(root: Path):
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield path, data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield Path(f"{path}!{member}"), archive.read(member)


def test_hub_token_is_never_logged(tracked):
    seen = 0
    for path, data in _all_bytes(tracked.root):
        seen += 1
        assert TOKEN.encode() not in data, f"{tracked.name} wrote the hub token into {path}"
    assert seen > 0


def test_codecarbon_measures_the_training(tmp_path, monkeypatch):
    pytest.importorskip("codecarbon")
    import csv

    apply_offline_env(monkeypatch, tmp_path)
    trainer = train_with(tmp_path, "codecarbon")
    with open(os.path.join(trainer.args.output_dir, "emissions.csv"), encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    runtime = trainer.state.log_history[-1]["train_runtime"]
    assert row["country_iso_code"] == "FRA"
    assert 0 < float(row["duration"]) <= runtime + 1.0
    assert float(row["energy_consumed"]) >= 0


# -- main process only --------------------------------------------------------------------

_CLIENT_ATTRIBUTE = {
    "WandbCallback": "_wandb",
    "MLflowCallback": "_ml_flow",
    "TrackioCallback": "_trackio",
    "CometCallback": "_comet",
    "ClearMLCallback": "_clearml",
    "SwanLabCallback": "_swanlab",
    "NeptuneCallback": "_neptune",
    "CodeCarbonCallback": "_codecarbon",
}


@pytest.mark.parametrize("name", sorted({*CLIENTS, "codecarbon"}))
def test_only_the_main_process_logs(name, tmp_path, monkeypatch):
    pytest.importorskip(CLIENTS.get(name, name))
    from trainer_args import TrainingArguments
    from trainer_loop.integrations import INTEGRATION_TO_CALLBACK
    from trainer_loop.state import TrainerControl, TrainerState

    apply_offline_env(monkeypatch, tmp_path)
    callback = INTEGRATION_TO_CALLBACK[name]()
    attribute = _CLIENT_ATTRIBUTE.get(type(callback).__name__)
    client = mock.MagicMock()
    if attribute is not None:
        setattr(callback, attribute, client)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True)
    state = TrainerState(is_world_process_zero=False, is_local_process_zero=False, global_step=2)
    control = TrainerControl()
    model = configured_model()
    callback.on_init_end(args, state, control, model=model)
    callback.on_train_begin(args, state, control, model=model)
    callback.on_log(args, state, control, model=model, logs={"loss": 1.0, "eval_loss": 2.0})
    callback.on_save(args, state, control, model=model)
    callback.on_train_end(args, state, control, model=model)
    assert client.mock_calls == []
    assert getattr(callback, "live", None) is None  # DVCLive made no Live
    assert not any(tmp_path.iterdir()) or {p.name for p in tmp_path.iterdir()} <= {".config"}


# -- model artifacts when asked -------------------------------------------------------------


def test_mlflow_logs_each_checkpoint_when_asked(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    apply_offline_env(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_MLFLOW_LOG_ARTIFACTS", "1")
    train_with(tmp_path, "mlflow", save_strategy="steps", save_steps=4, eval_strategy="no")
    client = MlflowClient(tracking_uri=f"file://{tmp_path}/mlruns")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    folders = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert folders == {"checkpoint-4", "checkpoint-8"}
    files = {
        os.path.basename(a.path) for a in client.list_artifacts(run.info.run_id, "checkpoint-8")
    }
    assert {"model.safetensors", "trainer_state.json"} <= files


def test_wandb_logs_the_final_model_when_asked(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    import wandb

    apply_offline_env(monkeypatch, tmp_path)
    monkeypatch.setenv("WANDB_LOG_MODEL", "end")
    monkeypatch.chdir(tmp_path)
    train_with(tmp_path, "wandb", eval_strategy="no")
    wandb.finish()
    wandb.teardown()
    readers.read_wandb(str(tmp_path))  # waits for the run file to be complete
    (path,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    artifacts = [
        r.artifact
        for r in readers._wandb_records(str(path))
        if r.WhichOneof("record_type") == "artifact"
    ]
    by_alias = {alias: a for a in artifacts for alias in a.aliases}
    assert {"base_model", "final_model"} <= set(by_alias)
    final = by_alias["final_model"]
    assert final.type == "model" and final.name.startswith("model-")
    names = {entry.path for entry in final.manifest.contents}
    assert {"model.safetensors", "model_architecture.txt"} <= names


def test_wandb_gives_each_search_trial_a_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    pytest.importorskip("optuna")
    import wandb
    from trainer_args import TrainingArguments
    from trainer_loop import Trainer

    apply_offline_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        report_to="wandb",
        run_name="search",
        use_cpu=True,
        disable_tqdm=True,
        max_steps=4,
        logging_steps=2,
        save_strategy="no",
    )
    trainer = Trainer(
        model_init=configured_model,
        args=args,
        train_dataset=RegressionDataset(length=32),
        eval_dataset=RegressionDataset(length=8, seed=1),
    )
    trainer.hyperparameter_search(
        backend="optuna",
        hp_space=lambda t: {"learning_rate": t.suggest_float("learning_rate", 0.01, 0.1)},
        hp_name=lambda t: f"trial-{t.number}",
        n_trials=2,
    )
    wandb.finish()
    wandb.teardown()
    runs = {}
    for path in tmp_path.glob("wandb/offline-run-*/run-*.wandb"):
        records = readers._wandb_records(str(path))
        (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        runs[run.display_name] = run.run_group
    # as in transformers, a search clears run_name, so trials are grouped by output_dir
    assert runs == {"trial-0": args.output_dir, "trial-1": args.output_dir}
