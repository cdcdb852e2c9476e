"""SwanLab: ``SWANLAB_RUN_ID`` / ``SWANLAB_RESUME`` reach ``swanlab.init`` as with transformers.

The same stand-in ``swanlab`` module (``get_run()`` answers ``None``: no run yet) is given to
transformers' ``SwanLabCallback`` and to ours; both must call ``init`` with the same resume keywords.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from unittest.mock import Mock, patch

import pytest

integration_utils = pytest.importorskip("transformers.integrations.integration_utils")

from trainer_loop.integrations.swanlab import SwanLabCallback  # noqa: E402

CALLBACKS = {"ours": SwanLabCallback, "transformers": integration_utils.SwanLabCallback}


class Args:
    run_name = "swanlab-run"
    resume_from_checkpoint = False

    @staticmethod
    def to_dict():
        return {}


class Model:
    config = SimpleNamespace(to_dict=dict)
    peft_config = None

    @staticmethod
    def num_parameters():
        return 1


def _init_keywords(library, environment):
    fake = Mock()
    fake.get_run.return_value = None
    fake.config = {}
    with (
        patch.object(integration_utils, "is_swanlab_available", return_value=True),
        patch.dict("sys.modules", {"swanlab": fake}),
    ):
        callback = CALLBACKS[library]()
    state = SimpleNamespace(is_world_process_zero=True, trial_name=None)
    with patch.dict(os.environ, environment, clear=True):
        callback.setup(Args(), state, Model())
    assert fake.init.call_count == 1, library
    return fake.init.call_args.kwargs


@pytest.mark.parametrize(
    "environment",
    [{}, {"SWANLAB_RUN_ID": "run-123", "SWANLAB_RESUME": "must"}, {"SWANLAB_RUN_ID": "run-9"}],
)
def test_run_id_and_resume_are_forwarded_only_when_set(environment):
    ours, theirs = (_init_keywords(library, environment) for library in CALLBACKS)
    for key in ("id", "resume"):
        assert ours.get(key) == theirs.get(key)
    assert ours.get("id") == environment.get("SWANLAB_RUN_ID")
    assert ours.get("resume") == environment.get("SWANLAB_RESUME")


def test_no_new_experiment_when_one_is_running():
    fake = Mock()
    fake.get_run.return_value = object()  # a run the user started
    fake.config = {}
    with patch.dict("sys.modules", {"swanlab": fake}):
        callback = SwanLabCallback()
    callback.setup(Args(), SimpleNamespace(is_world_process_zero=True, trial_name=None), Model())
    fake.init.assert_not_called()
