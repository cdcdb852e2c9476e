"""``enable_jit_checkpoint=True`` adds the callback transformers' code looks for, on both libraries.

transformers' ``JITCheckpointTest.test_integration_with_trainer`` looks for one callback that is a
``transformers.trainer_jit_checkpoint.JITCheckpointCallback`` attached to the trainer. Installed as
transformers, ours is one, and still saves at a step boundary (docs/migration.md).
"""

from __future__ import annotations

import importlib

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402
from trainer_loop.callbacks.jit_checkpoint import JITCheckpointCallback  # noqa: E402


@pytest.fixture(params=["transformers", "ours"])
def library(request):
    if request.param == "ours":
        trainer.install_as_transformers()
    try:
        yield request.param, importlib.import_module("transformers")
    finally:
        if request.param == "ours":
            trainer.restore_transformers()


def _jit_trainer(trainer_cls, args_cls, tmp_path):
    args = args_cls(
        output_dir=str(tmp_path), enable_jit_checkpoint=True, use_cpu=True, report_to="none"
    )
    return trainer_cls(model=RegressionModel(), args=args, train_dataset=RegressionDataset())


def test_the_jit_callback_is_transformers_kind_and_attached(library, tmp_path):
    name, transformers = library
    theirs = importlib.import_module("transformers.trainer_jit_checkpoint").JITCheckpointCallback
    t = _jit_trainer(transformers.Trainer, transformers.TrainingArguments, tmp_path)
    found = [cb for cb in t.callback_handler.callbacks if isinstance(cb, theirs)]
    assert len(found) == 1
    assert found[0].jit_manager is not None
    assert found[0].trainer is t
    if name == "ours":
        assert isinstance(found[0], JITCheckpointCallback)
        # Still our step-boundary saving: transformers' mid-step events are not listened to.
        handler = t.callback_handler
        assert found[0] not in handler.listeners("on_pre_optimizer_step")
        assert found[0] not in handler.listeners("on_step_begin")
        assert found[0] in handler.listeners("on_step_end")


def test_without_the_call_our_callback_is_attached_and_restore_puts_our_class_back(tmp_path):
    t = _jit_trainer(Trainer, TrainingArguments, tmp_path)
    (callback,) = [
        cb for cb in t.callback_handler.callbacks if isinstance(cb, JITCheckpointCallback)
    ]
    assert callback.trainer is t and callback.jit_manager is callback
    assert JITCheckpointCallback().jit_manager is None
    module = importlib.import_module("trainer_loop.callbacks.jit_checkpoint")
    trainer.install_as_transformers()
    trainer.restore_transformers()
    assert module.JITCheckpointCallback is JITCheckpointCallback
