"""label_smoothing_factor with a multi-label classification model: a warning, and no smoothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402


def _model(problem_type):
    model = RegressionModel()
    model.config = SimpleNamespace(problem_type=problem_type)
    return model


def _build(trainer_cls, args_cls, tmp_path, problem_type):
    args = args_cls(
        output_dir=str(tmp_path), label_smoothing_factor=0.1, use_cpu=True, report_to="none"
    )
    return trainer_cls(
        model=_model(problem_type), args=args, train_dataset=RegressionDataset(length=8)
    )


LIBRARIES = [("ours", trainer_loop.Trainer, TrainingArguments)]
try:  # side by side when transformers is installed
    import transformers

    LIBRARIES.append(("theirs", transformers.Trainer, transformers.TrainingArguments))
except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize("name,trainer_cls,args_cls", LIBRARIES)
def test_multi_label_turns_smoothing_off_with_a_warning(tmp_path, name, trainer_cls, args_cls):
    with pytest.warns(UserWarning, match="multi-label classification"):
        run = _build(trainer_cls, args_cls, tmp_path, "multi_label_classification")
    assert run.label_smoother is None


@pytest.mark.parametrize("name,trainer_cls,args_cls", LIBRARIES)
def test_single_label_keeps_smoothing(tmp_path, name, trainer_cls, args_cls, recwarn):
    run = _build(trainer_cls, args_cls, tmp_path, "single_label_classification")
    assert run.label_smoother is not None and run.label_smoother.epsilon == 0.1
    assert not [w for w in recwarn if "multi-label" in str(w.message)]
