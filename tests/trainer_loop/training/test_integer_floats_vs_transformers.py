"""Whole floats for integer arguments: refused where transformers refuses them, taken elsewhere.

transformers refuses ``torch_empty_cache_steps=1.0`` in ``TrainingArguments(...)``; with a float
batch size, accumulation, ``max_steps``, seed or prefetch factor its training fails when it starts
(``range``, ``DataLoader`` and the seeding functions want an ``int``). We refuse those in
``TrainingArguments(...)``, naming the field. Where transformers trains with the float, we take it
as an ``int``.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_args.numeric import INTEGER_ONLY  # noqa: E402

BASE = dict(use_cpu=True, report_to="none", disable_tqdm=True, save_strategy="no", max_steps=2)
REFUSED = {
    "per_device_train_batch_size": 8.0,
    "per_device_eval_batch_size": 8.0,
    "gradient_accumulation_steps": 1.0,
    "max_steps": 2.0,
    "torch_empty_cache_steps": 1.0,
    "seed": 3.0,
    "data_seed": 3.0,
    "dataloader_prefetch_factor": 2.0,
}
TAKEN = {"eval_accumulation_steps": 2.0, "save_total_limit": 2.0, "dataloader_num_workers": 0.0}


def _settings(name, value):
    settings = {**BASE, name: value}
    if name == "dataloader_prefetch_factor":
        settings["dataloader_num_workers"] = 1
    return settings


def _transformers_run(tmp_path, name, value):
    """Build transformers' arguments and train two steps and evaluate; the error, or None."""
    try:
        args = transformers.TrainingArguments(output_dir=str(tmp_path), **_settings(name, value))
        t = transformers.Trainer(
            model=RegressionModel(),
            args=args,
            train_dataset=RegressionDataset(length=16),
            eval_dataset=RegressionDataset(length=8),
        )
        t.train()
        t.evaluate()
    except (TypeError, ValueError, RuntimeError) as err:
        return err
    return None


def test_the_refused_list_is_the_one_checked():
    assert set(REFUSED) == INTEGER_ONLY


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_float_refused_where_transformers_fails(tmp_path, name):
    value = REFUSED[name]
    assert _transformers_run(tmp_path / "theirs", name, value) is not None
    with pytest.raises(ValueError, match=rf"{name}={value!r} is not valid: expected an integer"):
        TrainingArguments(output_dir=str(tmp_path / "ours"), **_settings(name, value))
    ours = TrainingArguments(output_dir=str(tmp_path / "ours"), **_settings(name, str(int(value))))
    assert getattr(ours, name) == int(value)  # the string form is still parsed


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_whole_float_taken_where_transformers_trains(tmp_path, name):
    value = TAKEN[name]
    assert _transformers_run(tmp_path / "theirs", name, value) is None
    ours = TrainingArguments(output_dir=str(tmp_path / "ours"), **_settings(name, value))
    assert getattr(ours, name) == int(value) and type(getattr(ours, name)) is int
