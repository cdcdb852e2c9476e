"""Result types returned by train/evaluate/predict, checkpoint file names and checkpoint lookup."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

__all__ = [
    "CONFIG_NAME",
    "FSDP_MODEL_NAME",
    "OPTIMIZER_NAME",
    "PREFIX_CHECKPOINT_DIR",
    "SAFE_WEIGHTS_INDEX_NAME",
    "SAFE_WEIGHTS_NAME",
    "SCALER_NAME",
    "SCHEDULER_NAME",
    "TRAINER_STATE_NAME",
    "TRAINING_ARGS_NAME",
    "WEIGHTS_NAME",
    "BestRun",
    "EvalLoopOutput",
    "EvalPrediction",
    "HPSearchBackend",
    "PredictionOutput",
    "TrainOutput",
]

# File names inside a checkpoint folder (identical to transformers, so checkpoints are portable).
TRAINING_ARGS_NAME = "training_args.bin"
TRAINER_STATE_NAME = "trainer_state.json"
OPTIMIZER_NAME = "optimizer.pt"
SCHEDULER_NAME = "scheduler.pt"
SCALER_NAME = "scaler.pt"
FSDP_MODEL_NAME = "pytorch_model_fsdp"
WEIGHTS_NAME = "pytorch_model.bin"
SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
CONFIG_NAME = "config.json"

PREFIX_CHECKPOINT_DIR = "checkpoint"


class EvalPrediction:
    """What ``compute_metrics`` receives: predictions and labels, plus inputs and losses if asked.

    It unpacks like a tuple: ``predictions, labels = eval_pred`` works, and so does indexing.
    ``inputs`` (with ``include_for_metrics=["inputs"]``) and ``losses`` (with ``["loss"]``) are
    appended to the tuple view only when present.
    """

    __slots__ = ("elements", "inputs", "label_ids", "losses", "predictions")

    def __init__(
        self, predictions: Any, label_ids: Any, inputs: Any = None, losses: Any = None
    ) -> None:
        self.predictions = predictions
        self.label_ids = label_ids
        self.inputs = inputs
        self.losses = losses
        elements: tuple[Any, ...] = (predictions, label_ids)
        if inputs is not None:
            elements += (inputs,)
        if losses is not None:
            elements += (losses,)
        self.elements = elements

    def __iter__(self):
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __getitem__(self, idx: int) -> Any:
        if idx < 0 or idx >= len(self.elements):
            raise IndexError("tuple index out of range")
        return self.elements[idx]

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}=..." for name in ("inputs", "losses") if getattr(self, name) is not None
        )
        return f"EvalPrediction(predictions=..., label_ids=...{extra})"


class EvalLoopOutput(NamedTuple):
    """What the evaluation loop gathered: predictions, labels, metrics and the sample count."""

    predictions: Any
    label_ids: Any | None
    metrics: dict[str, float] | None
    num_samples: int | None


class PredictionOutput(NamedTuple):
    """What ``Trainer.predict`` returns."""

    predictions: Any
    label_ids: Any | None
    metrics: dict[str, float] | None


class TrainOutput(NamedTuple):
    """What ``Trainer.train`` returns: final step, mean training loss and the train metrics."""

    global_step: int
    training_loss: float
    metrics: dict[str, float]


class BestRun(NamedTuple):
    """The winner of ``Trainer.hyperparameter_search``.

    ``run_id`` names the trial (its checkpoints sit in ``run-<run_id>``), ``objective`` is the value
    it reached, ``hyperparameters`` the values it used, ``run_summary`` a backend-specific summary.
    """

    run_id: str
    objective: float | list[float]
    hyperparameters: dict[str, Any]
    run_summary: Any | None = None


class HPSearchBackend(str, Enum):
    """Hyperparameter search backends accepted by ``Trainer.hyperparameter_search``."""

    OPTUNA = "optuna"
    RAY = "ray"
    WANDB = "wandb"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> HPSearchBackend:
        raise ValueError(
            f"{value!r} is not a valid {cls.__name__}, please select one of "
            f"{[member.value for member in cls]}"
        )
