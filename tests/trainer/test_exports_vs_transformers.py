"""Every name transformers exports for the Trainer API and its data pipeline imports from trainer.

The list is read from transformers' own lazy-import table, so a name transformers adds shows up
here as a failure naming it.
"""

from __future__ import annotations

import pytest
import trainer

# transformers modules whose top-level exports make up the Trainer API and its data pipeline.
TRAINER_MODULES = (
    "data.data_collator",
    "hf_argparser",
    "optimization",
    "trainer",
    "trainer_callback",
    "trainer_pt_utils",
    "trainer_seq2seq",
    "trainer_utils",
    "training_args",
    "training_args_seq2seq",
)

# Names scripts import from transformers' submodules rather than the top level.
SUBMODULE_NAMES = {
    "trainer_pt_utils": ["LabelSmoother", "IterableDatasetShard"],
    "trainer_utils": [
        "get_last_checkpoint",
        "PREFIX_CHECKPOINT_DIR",
        "BestRun",
        "EvalLoopOutput",
        "PredictionOutput",
        "TrainOutput",
        "HPSearchBackend",
    ],
    "trainer_callback": ["CallbackHandler", "ExportableState"],
}


def _transformers_names() -> dict[str, str]:
    transformers = pytest.importorskip("transformers")
    table = transformers._import_structure
    names = {}
    for module in TRAINER_MODULES:
        for name in table.get(module, []):
            names[name] = module
    assert len(names) > 40, "transformers' export table changed shape"
    return names


def test_every_trainer_api_export_is_importable():
    missing = [
        f"{name} (transformers.{module})"
        for name, module in sorted(_transformers_names().items())
        if name not in trainer.__all__
    ]
    assert not missing, "missing from trainer: " + ", ".join(missing)
    for name in _transformers_names():
        assert getattr(trainer, name) is not None, name


def test_submodule_names_are_importable_and_exist_in_transformers():
    import importlib

    pytest.importorskip("transformers")

    for module, names in SUBMODULE_NAMES.items():
        source = importlib.import_module(f"transformers.{module}")
        for name in names:
            assert hasattr(source, name), f"transformers.{module}.{name}"
            assert getattr(trainer, name) is not None, name


def test_collators_are_the_same_kind_of_object():
    transformers = pytest.importorskip("transformers")
    for name in _transformers_names():
        if not name.startswith("DataCollator") or name == "DataCollator":
            continue
        assert isinstance(getattr(trainer, name), type) == isinstance(
            getattr(transformers, name), type
        ), name
