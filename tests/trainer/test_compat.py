"""``trainer.install_as_transformers()`` puts our classes under transformers' names, reversibly."""

from __future__ import annotations

import logging
import sys
import types

import pytest

pytest.importorskip("transformers")

import importlib  # noqa: E402

import trainer  # noqa: E402
from trainer import compat  # noqa: E402


def current_transformers():
    # Some installed packages (comet_ml's import hooks) put a new `transformers` module object in
    # sys.modules when transformers.trainer is first imported; `import transformers` after that
    # returns the new one, which is the one install_as_transformers() patches.
    return importlib.import_module("transformers")


@pytest.fixture
def installed():
    trainer.install_as_transformers()
    try:
        yield
    finally:
        trainer.restore_transformers()


def test_names_resolve_to_ours(installed):
    transformers = current_transformers()
    import transformers.trainer_callback as callbacks
    import transformers.training_args as training_args

    assert transformers.Trainer is trainer.Trainer
    assert transformers.TrainingArguments is trainer.TrainingArguments
    assert transformers.Seq2SeqTrainer is trainer.Seq2SeqTrainer
    assert training_args.TrainingArguments is trainer.TrainingArguments
    assert callbacks.TrainerCallback is trainer.TrainerCallback
    assert callbacks.TrainerState is trainer.TrainerState
    from transformers import EarlyStoppingCallback, Trainer, TrainerControl

    assert Trainer is trainer.Trainer
    assert EarlyStoppingCallback is trainer.EarlyStoppingCallback
    assert TrainerControl is trainer.TrainerControl
    assert compat.is_installed()


def test_a_library_class_defined_after_the_call_subclasses_ours(installed, tmp_path):
    from transformers import Trainer, TrainingArguments

    class LibraryTrainer(Trainer):  # what TRL or sentence-transformers does at import
        pass

    import torch

    run = LibraryTrainer(
        model=torch.nn.Linear(2, 1), args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True)
    )
    assert isinstance(run, trainer.Trainer)
    # libraries' isinstance checks keep working
    assert isinstance(run, current_transformers().Trainer)


def test_restore_puts_transformers_classes_back():
    original = current_transformers().Trainer
    trainer.install_as_transformers()
    trainer.install_as_transformers()  # a second call changes nothing
    assert current_transformers().Trainer is trainer.Trainer
    trainer.restore_transformers()
    assert current_transformers().Trainer is original
    assert original.__module__ == "transformers.trainer"
    assert not compat.is_installed()


def test_warns_when_a_library_was_imported_first(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "setfit", types.ModuleType("setfit"))
    with caplog.at_level(logging.WARNING, logger="trainer.compat"):
        trainer.install_as_transformers()
    trainer.restore_transformers()
    assert "setfit was imported before install_as_transformers()" in caplog.text


def test_without_transformers_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match="needs transformers installed"):
        trainer.install_as_transformers()
