"""``accelerator_config`` mistakes fail where, and with the words, transformers' do.

Side by side: the same arguments given to transformers' ``TrainingArguments``/``Trainer`` and to ours
raise the same exception type, with transformers' key phrase in our (longer) message.
"""

from __future__ import annotations

import dataclasses

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from accelerate import Accelerator  # noqa: E402
from accelerate.state import AcceleratorState  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import AcceleratorConfig, TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402

HfAcceleratorConfig = transformers.trainer_pt_utils.AcceleratorConfig
LIBRARIES = {
    "ours": (TrainingArguments, Trainer, AcceleratorConfig),
    "transformers": (transformers.TrainingArguments, transformers.Trainer, HfAcceleratorConfig),
}


@pytest.fixture(autouse=True)
def fresh_state():
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _args(library, tmp_path, **kwargs):
    args_cls = LIBRARIES[library][0]
    return args_cls(output_dir=str(tmp_path / library), use_cpu=True, report_to="none", **kwargs)


@pytest.fixture
def installed():
    """Ours installed as transformers: what transformers' own tests run against."""
    import trainer

    trainer.install_as_transformers()
    try:
        yield
    finally:
        trainer.restore_transformers()


@pytest.mark.parametrize("library", LIBRARIES)
def test_use_configured_state_without_a_state_fails_in_the_arguments(library, tmp_path, request):
    if library == "ours":
        request.getfixturevalue("installed")
    with pytest.raises(ValueError, match="requires a pre-configured `AcceleratorState`"):
        _args(library, tmp_path, accelerator_config={"use_configured_state": True})
    Accelerator(cpu=True)
    _args(library, tmp_path, accelerator_config={"use_configured_state": True})  # accepted now


def test_arguments_set_up_the_process_state_as_transformers_when_installed(tmp_path, installed):
    # sentence-transformers builds its default arguments with use_configured_state=True right
    # after the user's: the user's must have set the state up, as transformers' do.
    _args("ours", tmp_path)
    _args("ours", tmp_path, accelerator_config={"use_configured_state": True})


def test_without_the_call_the_state_is_set_up_when_the_trainer_is_built(tmp_path):
    args = _args("ours", tmp_path, accelerator_config={"use_configured_state": True})
    with pytest.raises(ValueError, match="use_configured_state"):
        Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=8))
    Accelerator(cpu=True)
    Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=8))


@pytest.mark.parametrize("library", LIBRARIES)
def test_num_steps_with_gradient_accumulation_steps(library, tmp_path):
    _, trainer_cls, _ = LIBRARIES[library]

    def build(**kwargs):
        return trainer_cls(
            model=RegressionModel(),
            args=_args(library, tmp_path, **kwargs),
            train_dataset=RegressionDataset(length=8),
        )

    one = build(
        gradient_accumulation_steps=1,
        accelerator_config={"gradient_accumulation_kwargs": {"num_steps": 1}},
    )
    assert one.accelerator.gradient_state.plugin_kwargs["num_steps"] == 1
    taken = build(accelerator_config={"gradient_accumulation_kwargs": {"num_steps": 3}})
    assert taken.args.gradient_accumulation_steps == 3
    with pytest.raises(ValueError, match="The `AcceleratorConfig`'s `num_steps` is set but"):
        build(
            gradient_accumulation_steps=2,
            accelerator_config={"gradient_accumulation_kwargs": {"num_steps": 10}},
        )


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("config_class", ["ours", "transformers"])
def test_a_class_instead_of_an_instance(library, config_class, tmp_path):
    args_cls = LIBRARIES[library][0]
    given = LIBRARIES[config_class][2]
    phrase = "Tried passing in a callable to `accelerator_config`"
    with pytest.raises(NotImplementedError, match=phrase):
        _args(library, tmp_path, accelerator_config=given)

    @dataclasses.dataclass
    class CustomConfig(given):
        pass

    @dataclasses.dataclass
    class CustomArguments(args_cls):
        accelerator_config: dict = dataclasses.field(default=CustomConfig)

    with pytest.raises(NotImplementedError, match=phrase):
        CustomArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
