"""Sampler hooks and iterable datasets: a subclass that overrides ``_get_train_sampler`` /
``_get_eval_sampler`` with a sampler that takes the dataset's length (as TRL's GRPO and RLOO do)
trains and evaluates on an ``IterableDataset``, on our loop as on transformers'.

transformers asks for a sampler only for map-style data; an iterable dataset is read in its own
order. TRL also reads an iterable evaluation set with a single worker, by lowering
``args.dataloader_num_workers`` around ``_get_dataloader`` only, so map-style training keeps its
workers: the loader must read the argument when it is built.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402


class LengthTakingSampler(torch.utils.data.Sampler):
    """Like TRL's ``RepeatSampler``: needs ``len(data_source)`` when built."""

    def __init__(self, data_source):
        self.count = len(data_source)

    def __iter__(self):
        return iter(range(self.count))

    def __len__(self):
        return self.count


class Stream(torch.utils.data.IterableDataset):
    """The regression examples as a stream: no ``__len__``, no indexing."""

    def __init__(self, length: int, seed: int = 42):
        self.data = RegressionDataset(length=length, seed=seed)

    def __iter__(self):
        return (self.data[i] for i in range(len(self.data)))


def sampler_hooks(base):
    """A subclass of ``base`` (ours or transformers' Trainer) written the way TRL writes it."""

    class WithSamplerHooks(base):
        sampled: list = []  # which datasets a sampler was asked for  # noqa: RUF012

        def _get_train_sampler(self, dataset=None):
            dataset = self.train_dataset if dataset is None else dataset
            self.sampled.append(("train", type(dataset).__name__))
            return LengthTakingSampler(dataset)

        def _get_eval_sampler(self, eval_dataset):
            self.sampled.append(("eval", type(eval_dataset).__name__))
            return LengthTakingSampler(eval_dataset)

        def get_eval_dataloader(self, eval_dataset=None):
            dataset = self.eval_dataset if eval_dataset is None else eval_dataset
            if not isinstance(dataset, torch.utils.data.IterableDataset):
                return super().get_eval_dataloader(eval_dataset)
            workers = self.args.dataloader_num_workers  # one worker for this loader only
            self.args.dataloader_num_workers = 0
            try:
                return self._get_dataloader(
                    dataset=dataset,
                    description="Evaluation",
                    batch_size=self.args.eval_batch_size,
                    sampler_fn=self._get_eval_sampler,
                )
            finally:
                self.args.dataloader_num_workers = workers

    WithSamplerHooks.sampled = []
    return WithSamplerHooks


LIBRARIES = {
    "ours": (trainer_loop.Trainer, TrainingArguments),
    "transformers": (transformers.Trainer, transformers.TrainingArguments),
}


def _trainer(library, tmp_path, train, evaluation=None, **overrides):
    base, args_cls = LIBRARIES[library]
    settings = dict(
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=0.1,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
    )
    args = args_cls(output_dir=str(tmp_path / library), **{**settings, **overrides})
    torch.manual_seed(0)
    cls = sampler_hooks(base)
    return cls(model=RegressionModel(), args=args, train_dataset=train, eval_dataset=evaluation)


def _weights(model):
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def test_iterable_training_set_asks_for_no_sampler_and_trains_as_transformers(tmp_path):
    results = {}
    for library in LIBRARIES:
        t = _trainer(library, tmp_path, Stream(32), max_steps=6)
        out = t.train()
        results[library] = (out.training_loss, _weights(t.model), list(t.sampled))
    ours, theirs = results["ours"], results["transformers"]
    assert ours[2] == theirs[2] == []  # no sampler asked for a stream
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5)
    for name, value in ours[1].items():
        torch.testing.assert_close(value, theirs[1][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", ["iterable", "dict_of_iterable", "dict_of_mixed"])
def test_evaluate_on_iterable_sets_as_transformers(tmp_path, shape):
    stream = Stream(10, seed=7)
    evaluation = {
        "iterable": stream,
        "dict_of_iterable": {"data1": stream, "data2": Stream(6, seed=8)},
        "dict_of_mixed": {"data1": stream, "data2": RegressionDataset(length=6, seed=8)},
    }[shape]
    metrics = {}
    for library in LIBRARIES:
        t = _trainer(library, tmp_path, RegressionDataset(length=16))
        found = t.evaluate(eval_dataset=evaluation)
        metrics[library] = (
            {k: v for k, v in found.items() if k.endswith("_loss")},
            list(t.sampled),
        )
    assert metrics["ours"][1] == metrics["transformers"][1]  # map-style sets only
    assert all(kind != "Stream" for _, kind in metrics["ours"][1])
    assert metrics["ours"][0].keys() == metrics["transformers"][0].keys()
    for key, value in metrics["ours"][0].items():
        assert value == pytest.approx(metrics["transformers"][0][key], rel=1e-5)


def test_iterable_eval_loader_has_one_worker_and_map_style_training_keeps_its_workers(tmp_path):
    for library in LIBRARIES:
        t = _trainer(
            library, tmp_path, RegressionDataset(length=16), Stream(8), dataloader_num_workers=2
        )
        assert t.get_train_dataloader().num_workers == 2, library
        assert t.get_eval_dataloader().num_workers == 0, library
        assert t.args.dataloader_num_workers == 2, library  # the override was not kept
        assert t.sampled == [("train", "RegressionDataset")], library
