"""Azure ML (``report_to="azure_ml"``): numbers logged to the current Azure ML run."""

from __future__ import annotations

from typing import Any

from ..callbacks.base import TrainerCallback
from .base import has_module, import_client


def is_azureml_available() -> bool:
    """Whether ``azureml.core`` (the azureml-core package) is installed."""
    return has_module("azureml") and has_module("azureml.core") and has_module("azureml.core.run")


class AzureMLCallback(TrainerCallback):
    """Logs every numeric value of each log call to the Azure ML run the job runs in.

    Pass ``azureml_run`` to log to a run of your own; otherwise ``Run.get_context()`` gives the
    current one when the Trainer is built. Needs ``pip install azureml-core`` (Azure's SDK has no
    offline mode; outside an Azure ML job the context is an offline run that keeps nothing).
    """

    def __init__(self, azureml_run: Any = None) -> None:
        if not is_azureml_available():
            import_client("azureml.core.run", "AzureMLCallback", "azure_ml", "azureml-core")
        self.azureml_run = azureml_run

    def on_init_end(self, args, state, control, **kwargs):
        if self.azureml_run is None and state.is_world_process_zero:
            from azureml.core.run import Run

            self.azureml_run = Run.get_context()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.azureml_run is None or not state.is_world_process_zero or not logs:
            return
        for key, value in logs.items():
            if isinstance(value, (int, float)):
                self.azureml_run.log(key, value, description=key)
