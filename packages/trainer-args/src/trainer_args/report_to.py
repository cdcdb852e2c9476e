"""Which reporting integrations ``report_to`` may name, and which ``"all"`` stands for.

Presence is checked with ``importlib.util.find_spec``: no client library is imported here.
"""

from __future__ import annotations

import importlib.util
import os

#: Reporting integrations and the module whose presence means "installed" (for report_to="all").
INTEGRATION_MODULES = {
    "azure_ml": "azureml.core.run",
    "comet_ml": "comet_ml",
    "dagshub": "dagshub",
    "dvclive": "dvclive",
    "mlflow": "mlflow",
    "neptune": "neptune",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "codecarbon": "codecarbon",
    "clearml": "clearml",
    "swanlab": "swanlab",
    "trackio": "trackio",
    "flyte": "flytekit",
}


def available_integrations() -> list[str]:
    """Reporting integrations whose package is installed (``report_to="all"``), without importing them."""
    found = []
    for name, module in INTEGRATION_MODULES.items():
        if name == "flyte":
            continue  # never auto-selected, as in transformers
        if name == "azure_ml" and _mlflow_enabled() and _module_present("mlflow"):
            continue
        if name == "mlflow" and not _mlflow_enabled():
            continue
        if name == "comet_ml" and not comet_configured():
            continue  # an experiment could not start; transformers leaves it out too
        if _module_present(module) or (name == "tensorboard" and _module_present("tensorboardX")):
            found.append(name)
    return found


def comet_configured() -> bool:
    """Whether comet has an API key (``COMET_API_KEY`` or its config file) or runs offline."""
    if os.getenv("COMET_API_KEY"):
        return True
    if os.getenv("COMET_START_ONLINE", "").lower() in ("0", "false", "no", "off"):
        return True
    return os.path.isfile(os.path.expanduser(os.getenv("COMET_CONFIG", "~/.comet.config")))


def _mlflow_enabled() -> bool:
    return os.getenv("DISABLE_MLFLOW_INTEGRATION", "FALSE").upper() != "TRUE"


def _module_present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
