"""label_smoothing_factor with a multi-label classification model: a warning, and no smoothing;
a best model without a metric: an error. Both with transformers' key phrase in the message."""

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
    # transformers' key phrase, which code and tests match on, is in both messages
    phrase = "Label smoothing is not compatible with multi-label classification"
    with pytest.warns(UserWarning, match=phrase):
        run = _build(trainer_cls, args_cls, tmp_path, "multi_label_classification")
    assert run.label_smoother is None


@pytest.mark.parametrize("name,trainer_cls,args_cls", LIBRARIES)
def test_single_label_keeps_smoothing(tmp_path, name, trainer_cls, args_cls, recwarn):
    run = _build(trainer_cls, args_cls, tmp_path, "single_label_classification")
    assert run.label_smoother is not None and run.label_smoother.epsilon == 0.1
    assert not [w for w in recwarn if "multi-label" in str(w.message)]


@pytest.mark.parametrize("name,trainer_cls,args_cls", LIBRARIES)
@pytest.mark.parametrize(
    "settings",
    [
        dict(save_strategy="best", eval_strategy="steps"),
        dict(load_best_model_at_end=True, eval_strategy="steps", save_strategy="steps"),
    ],
)
def test_best_model_without_a_metric_names_the_argument(
    tmp_path, name, trainer_cls, args_cls, settings
):
    args = args_cls(output_dir=str(tmp_path), use_cpu=True, report_to="none", **settings)
    args.metric_for_best_model = None  # load_best_model_at_end fills in "loss": take it away
    with pytest.raises(ValueError, match="`args.metric_for_best_model` must be provided"):
        trainer_cls(
            model=RegressionModel(),
            args=args,
            train_dataset=RegressionDataset(length=8),
            eval_dataset=RegressionDataset(length=8),
        )
