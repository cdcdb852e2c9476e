"""Which callback serves each ``report_to`` name, and what to install when its client is missing."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from ..callbacks.base import TrainerCallback
from .azureml import AzureMLCallback
from .base import install_hint
from .clearml import ClearMLCallback
from .codecarbon import CodeCarbonCallback
from .comet import CometCallback, is_comet_configured
from .dvclive import DVCLiveCallback
from .flyte import FlyteCallback
from .mlflow import DagsHubCallback, MLflowCallback
from .neptune import NeptuneCallback
from .swanlab import SwanLabCallback
from .tensorboard import TensorBoardCallback
from .trackio import TrackioCallback
from .wandb import WandbCallback


def is_dagshub_available() -> bool:
    """Whether dagshub (and mlflow, which it logs through) are installed."""
    from .base import has_module

    return has_module("dagshub") and has_module("mlflow")


@dataclass(frozen=True)
class Integration:
    """One ``report_to`` name: its callback, its client package and how to install it."""

    name: str
    callback: type[TrainerCallback]
    package: str
    #: ``"<module>.<function>"`` in this package telling whether the client is installed
    check: str
    #: our extra that installs the client, or None when it is installed with pip directly
    extra: str | None = None

    def is_installed(self) -> bool:
        """Whether the client is installed (looked up at call time, so tests can patch it)."""
        module, function = self.check.rsplit(".", 1)
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)()

    @property
    def hint(self) -> str:
        """The install command shown when the client is missing."""
        if self.extra is not None:
            return install_hint(self.extra)
        return install_hint(self.name, self.package)


#: Every integration transformers 5.3.0 knows, by ``report_to`` name.
INTEGRATIONS: dict[str, Integration] = {
    i.name: i
    for i in (
        Integration("azure_ml", AzureMLCallback, "azureml-core", "azureml.is_azureml_available"),
        Integration(
            "clearml", ClearMLCallback, "clearml", "clearml.is_clearml_available", "clearml"
        ),
        Integration(
            "codecarbon",
            CodeCarbonCallback,
            "codecarbon",
            "codecarbon.is_codecarbon_available",
            "codecarbon",
        ),
        Integration("comet_ml", CometCallback, "comet-ml", "comet.is_comet_installed", "comet_ml"),
        Integration("dagshub", DagsHubCallback, "dagshub", "registry.is_dagshub_available"),
        Integration(
            "dvclive", DVCLiveCallback, "dvclive", "dvclive.is_dvclive_available", "dvclive"
        ),
        Integration("flyte", FlyteCallback, "flytekit", "flyte.is_flytekit_available"),
        Integration("mlflow", MLflowCallback, "mlflow", "mlflow.is_mlflow_available", "mlflow"),
        Integration(
            "neptune", NeptuneCallback, "neptune", "neptune.is_neptune_available", "neptune"
        ),
        Integration(
            "swanlab", SwanLabCallback, "swanlab", "swanlab.is_swanlab_available", "swanlab"
        ),
        Integration(
            "tensorboard",
            TensorBoardCallback,
            "tensorboard",
            "tensorboard.is_tensorboard_available",
            "tensorboard",
        ),
        Integration(
            "trackio", TrackioCallback, "trackio", "trackio.is_trackio_available", "trackio"
        ),
        Integration("wandb", WandbCallback, "wandb", "wandb.is_wandb_available", "wandb"),
    )
}

#: ``report_to`` name -> client package (kept for code that read it before).
INTEGRATION_PACKAGES: dict[str, str] = {name: i.package for name, i in INTEGRATIONS.items()}

#: ``report_to`` name -> callback class, as in transformers.
INTEGRATION_TO_CALLBACK: dict[str, type[TrainerCallback]] = {
    name: i.callback for name, i in INTEGRATIONS.items()
}

# The order report_to="all" lists them in (transformers' order).
_ALL_ORDER = (
    "azure_ml",
    "comet_ml",
    "dagshub",
    "dvclive",
    "mlflow",
    "neptune",
    "tensorboard",
    "wandb",
    "codecarbon",
    "clearml",
    "swanlab",
    "trackio",
)


def get_available_reporting_integrations() -> list[str]:
    """The names ``report_to="all"`` stands for: every integration whose client is installed.

    As in transformers, Azure ML is left out when mlflow is installed, comet only counts when an
    API key is configured (or runs are offline), flyte is never chosen implicitly, and
    ``DISABLE_MLFLOW_INTEGRATION=TRUE`` leaves mlflow out.
    """
    found = []
    for name in _ALL_ORDER:
        if not INTEGRATIONS[name].is_installed():
            continue
        if name == "azure_ml" and INTEGRATIONS["mlflow"].is_installed():
            continue
        if name == "comet_ml" and not is_comet_configured():
            continue
        found.append(name)
    return found


def _normalise(report_to: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if report_to is None:
        return []
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    result: list[str] = []
    for name in names:
        if name == "none":
            continue
        if name == "all":
            result.extend(get_available_reporting_integrations())
        else:
            result.append(name)
    return list(dict.fromkeys(result))


def get_reporting_integration_callbacks(
    report_to: str | list[str] | tuple[str, ...] | None,
) -> list[type[TrainerCallback]]:
    """The callback classes to install for ``report_to``, in its order.

    ``None``, ``"none"`` and ``[]`` give none; ``"all"`` gives every installed integration (see
    :func:`get_available_reporting_integrations`). An unknown name raises ``ValueError`` listing
    the known ones; a known one whose client is missing raises ``ImportError`` with the command
    that installs it.
    """
    names = _normalise(report_to)
    for name in names:
        if name not in INTEGRATIONS:
            raise ValueError(
                f"report_to={name!r} is not supported; known integrations are "
                f"{', '.join(sorted(INTEGRATIONS))} (plus 'all' and 'none')."
            )
    callbacks: list[type[TrainerCallback]] = []
    for name in names:
        integration = INTEGRATIONS[name]
        if name == "mlflow" and os.getenv("DISABLE_MLFLOW_INTEGRATION", "").upper() == "TRUE":
            raise ValueError(
                "report_to='mlflow' while DISABLE_MLFLOW_INTEGRATION=TRUE: unset the variable or "
                "drop 'mlflow' from report_to."
            )
        if not integration.is_installed():
            raise ImportError(
                f"report_to={name!r} needs the {integration.package} package, which is not "
                f"installed: {integration.hint}"
            )
        callbacks.append(integration.callback)
    return callbacks
