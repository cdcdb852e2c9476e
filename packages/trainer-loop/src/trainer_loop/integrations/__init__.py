"""Reporting integrations chosen with ``TrainingArguments.report_to``.

One module per tracker, each importing its client only when its callback is built, and a
registry (``get_reporting_integration_callbacks``) that maps ``report_to`` names to callbacks.
"""

from .azureml import AzureMLCallback
from .base import default_logdir, rewrite_logs
from .clearml import ClearMLCallback
from .codecarbon import CodeCarbonCallback
from .comet import CometCallback
from .dvclive import DVCLiveCallback
from .flyte import FlyteCallback
from .mlflow import DagsHubCallback, MLflowCallback
from .neptune import NeptuneCallback, NeptuneMissingConfiguration
from .registry import (
    INTEGRATION_PACKAGES,
    INTEGRATION_TO_CALLBACK,
    INTEGRATIONS,
    get_available_reporting_integrations,
    get_reporting_integration_callbacks,
)
from .swanlab import SwanLabCallback
from .tensorboard import TensorBoardCallback, is_tensorboard_available
from .trackio import TrackioCallback
from .wandb import WandbCallback, WandbLogModel

__all__ = [
    "INTEGRATIONS",
    "INTEGRATION_PACKAGES",
    "INTEGRATION_TO_CALLBACK",
    "AzureMLCallback",
    "ClearMLCallback",
    "CodeCarbonCallback",
    "CometCallback",
    "DVCLiveCallback",
    "DagsHubCallback",
    "FlyteCallback",
    "MLflowCallback",
    "NeptuneCallback",
    "NeptuneMissingConfiguration",
    "SwanLabCallback",
    "TensorBoardCallback",
    "TrackioCallback",
    "WandbCallback",
    "WandbLogModel",
    "default_logdir",
    "get_available_reporting_integrations",
    "get_reporting_integration_callbacks",
    "is_tensorboard_available",
    "rewrite_logs",
]
