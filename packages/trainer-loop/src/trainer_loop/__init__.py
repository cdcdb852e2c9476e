"""The Trainer: train, evaluate and predict with callbacks, checkpoints and exact resume."""

from .callbacks.base import CallbackHandler, Event, TrainerCallback
from .callbacks.builtin import (
    DefaultFlowCallback,
    EarlyStoppingCallback,
    PrinterCallback,
    ProgressCallback,
)
from .callbacks.nonfinite import StopOnNonFiniteCallback
from .checkpointing.background import BackgroundCheckpointing, CheckpointWriteError
from .checkpointing.folders import get_last_checkpoint
from .integrations import (
    AzureMLCallback,
    ClearMLCallback,
    CodeCarbonCallback,
    CometCallback,
    DagsHubCallback,
    DVCLiveCallback,
    FlyteCallback,
    MLflowCallback,
    NeptuneCallback,
    SwanLabCallback,
    TensorBoardCallback,
    TrackioCallback,
    WandbCallback,
    get_reporting_integration_callbacks,
)
from .losses import LabelSmoother
from .metrics import speed_metrics
from .results import (
    CONFIG_NAME,
    FSDP_MODEL_NAME,
    OPTIMIZER_NAME,
    PREFIX_CHECKPOINT_DIR,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    SCALER_NAME,
    SCHEDULER_NAME,
    TRAINER_STATE_NAME,
    TRAINING_ARGS_NAME,
    WEIGHTS_NAME,
    BestRun,
    EvalLoopOutput,
    EvalPrediction,
    HPSearchBackend,
    PredictionOutput,
    TrainOutput,
)
from .state import ExportableState, TrainerControl, TrainerState
from .trainer import Trainer
from .variants.raft import RaftTrainer

__version__ = "0.1.0"

__all__ = [
    "BackgroundCheckpointing",
    "CheckpointWriteError",
    "AzureMLCallback",
    "ClearMLCallback",
    "CodeCarbonCallback",
    "CometCallback",
    "DVCLiveCallback",
    "DagsHubCallback",
    "FlyteCallback",
    "MLflowCallback",
    "NeptuneCallback",
    "SwanLabCallback",
    "TensorBoardCallback",
    "TrackioCallback",
    "WandbCallback",
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
    "CallbackHandler",
    "DefaultFlowCallback",
    "EarlyStoppingCallback",
    "EvalLoopOutput",
    "EvalPrediction",
    "Event",
    "ExportableState",
    "HPSearchBackend",
    "LabelSmoother",
    "PredictionOutput",
    "PrinterCallback",
    "RaftTrainer",
    "StopOnNonFiniteCallback",
    "ProgressCallback",
    "Trainer",
    "TrainerCallback",
    "TrainerControl",
    "TrainerState",
    "TrainOutput",
    "get_last_checkpoint",
    "get_reporting_integration_callbacks",
    "speed_metrics",
]
