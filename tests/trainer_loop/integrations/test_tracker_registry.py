"""report_to lookup: errors naming the extra, report_to="all", exported callback classes."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from helpers.meta import require_meta_package
from helpers.tracker_readers import CLIENTS

# -- errors and report_to="all" -------------------------------------------------------------

_EXTRAS = ["clearml", "codecarbon", "comet_ml", "dvclive", "mlflow", "neptune", "swanlab"]
_EXTRAS += ["trackio", "wandb"]


@pytest.mark.parametrize("name", _EXTRAS)
def test_missing_client_names_the_extra(name, monkeypatch):
    from trainer_loop.integrations import INTEGRATIONS, get_reporting_integration_callbacks

    monkeypatch.setattr(INTEGRATIONS[name].__class__, "is_installed", lambda self: False)
    with pytest.raises(ImportError, match=rf'pip install "trainer-loop\[{name}\]"'):
        get_reporting_integration_callbacks([name])
    # the callback built directly says the same when its client cannot be imported
    module = {"comet_ml": "comet_ml"}.get(name, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"trainer-loop\[{name}\]"):
        INTEGRATIONS[name].callback()


@pytest.mark.parametrize(
    ("name", "package"),
    [("azure_ml", "azureml-core"), ("dagshub", "dagshub"), ("flyte", "flytekit")],
)
def test_integrations_without_a_local_mode_name_their_package(name, package):
    from trainer_loop.integrations import get_reporting_integration_callbacks

    if _installed(name):
        pytest.skip(f"{package} is installed")
    with pytest.raises(ImportError, match=f"pip install {package}"):
        get_reporting_integration_callbacks(name)


def _installed(name: str) -> bool:
    from trainer_loop.integrations import INTEGRATIONS

    return INTEGRATIONS[name].is_installed()


def test_report_to_all_takes_the_installed_clients(monkeypatch, tmp_path):
    from trainer_loop.integrations import get_available_reporting_integrations

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    monkeypatch.delenv("COMET_START_ONLINE", raising=False)
    monkeypatch.delenv("DISABLE_MLFLOW_INTEGRATION", raising=False)
    found = get_available_reporting_integrations()
    for name, module in CLIENTS.items():
        installed = importlib.util.find_spec(module) is not None
        assert (name in found) == (installed and name != "comet_ml"), name
    monkeypatch.setenv("COMET_API_KEY", "key")
    monkeypatch.setenv("DISABLE_MLFLOW_INTEGRATION", "TRUE")
    found = get_available_reporting_integrations()
    assert ("comet_ml" in found) == (importlib.util.find_spec("comet_ml") is not None)
    assert "mlflow" not in found


def test_disabled_mlflow_is_refused_by_name(monkeypatch):
    from trainer_loop.integrations import get_reporting_integration_callbacks

    monkeypatch.setenv("DISABLE_MLFLOW_INTEGRATION", "TRUE")
    with pytest.raises(ValueError, match="DISABLE_MLFLOW_INTEGRATION"):
        get_reporting_integration_callbacks(["mlflow"])


def test_callback_classes_are_exported():
    import trainer_loop
    from trainer_loop.integrations import INTEGRATION_TO_CALLBACK

    for cls in INTEGRATION_TO_CALLBACK.values():
        assert getattr(trainer_loop, cls.__name__) is cls
    trainer = require_meta_package()
    assert trainer.WandbCallback is trainer_loop.WandbCallback
    assert trainer.MLflowCallback is trainer_loop.MLflowCallback


def test_wandb_log_model_values():
    from trainer_loop.integrations import WandbLogModel

    assert WandbLogModel("end").is_enabled and WandbLogModel("checkpoint").is_enabled
    assert not WandbLogModel("false").is_enabled
    assert WandbLogModel("sometimes") is WandbLogModel.FALSE
    with pytest.raises(TypeError):
        WandbLogModel(3)
