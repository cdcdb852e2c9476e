"""Internals that tests and libraries reach for, side by side with transformers:
``DataCollatorForLanguageModeling._calc_word_ids_and_prob_mask`` / ``_whole_word_mask``,
``IterableDatasetShard.num_examples``, a dataloader's ``total_batch_size`` and
``HfArgumentParser``'s ``choices`` for ``Literal`` fields."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Literal

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import trainer_data  # noqa: E402
from trainer_args import HfArgumentParser  # noqa: E402
from trainer_data import IterableDatasetShard, dataloader_from_sampler  # noqa: E402

Theirs = transformers.DataCollatorForLanguageModeling
Ours = trainer_data.DataCollatorForLanguageModeling


def _offsets_and_special(seed: int):
    """A batch of 3 rows of 12 tokens: words of 1-3 tokens, special tokens at both ends."""
    rng = np.random.default_rng(seed)
    offsets = np.zeros((3, 12, 2), dtype=np.int64)
    special = np.zeros((3, 12), dtype=np.int64)
    for row in range(3):
        position = 0
        for token in range(1, 11):
            if rng.random() < 0.5:
                position += 1  # a space: this token starts a word
            offsets[row, token] = (position, position + 2)
            position += 2
        special[row, [0, 11]] = 1
    return offsets, special


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_word_ids_and_whole_word_mask_match(seed):
    offsets, special = _offsets_and_special(seed)
    ours = Ours._calc_word_ids_and_prob_mask(offsets, special)
    theirs = Theirs._calc_word_ids_and_prob_mask(offsets, special)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine, reference)
    picked = np.random.default_rng(seed).random((3, 12)) < 0.3
    np.testing.assert_array_equal(
        Ours._whole_word_mask(ours[0], picked), Theirs._whole_word_mask(theirs[0], picked)
    )


def test_masking_goes_through_the_overridable_steps():
    calls = []

    class Recording(Ours):
        @staticmethod
        def _whole_word_mask(word_ids, mask):
            calls.append(mask.shape)
            return Ours._whole_word_mask(word_ids, mask)

    class Tokenizer:
        mask_token, mask_token_id, pad_token_id = "[MASK]", 1, 0

        def __len__(self):
            return 50

        def convert_tokens_to_ids(self, token):
            return 1

    offsets, special = _offsets_and_special(0)
    collator = Recording(
        Tokenizer(), whole_word_mask=True, mask_replace_prob=1, random_replace_prob=0, seed=0
    )
    inputs = torch.randint(5, 50, (3, 12))
    collator.torch_mask_tokens(inputs, special_tokens_mask=special, offset_mapping=offsets)
    assert calls == [(3, 12)]


class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        return iter(range(11))


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_shard_counts_examples_read(drop_last):
    kwargs = dict(batch_size=2, drop_last=drop_last, num_processes=2, process_index=1)
    ours = IterableDatasetShard(Stream(), **kwargs)
    theirs = transformers.trainer_pt_utils.IterableDatasetShard(Stream(), **kwargs)
    assert ours.num_examples == theirs.num_examples == 0
    assert list(ours) == list(theirs)
    assert ours.num_examples == theirs.num_examples == 11


def test_total_batch_size_of_the_dataloaders(tmp_path):
    from helpers.models import RegressionDataset, RegressionModel
    from trainer_args import TrainingArguments
    from trainer_loop import Trainer

    sizes = {}
    for name, trainer_cls, args_cls in (
        ("ours", Trainer, TrainingArguments),
        ("transformers", transformers.Trainer, transformers.TrainingArguments),
    ):
        args = args_cls(
            output_dir=str(tmp_path / name),
            per_device_train_batch_size=4,
            per_device_eval_batch_size=3,
            gradient_accumulation_steps=2,
            use_cpu=True,
            report_to="none",
        )
        data = RegressionDataset(length=16)
        t = trainer_cls(model=RegressionModel(), args=args, train_dataset=data, eval_dataset=data)
        sizes[name] = (
            t.get_train_dataloader().total_batch_size,
            t.get_eval_dataloader().total_batch_size,
        )
    assert sizes["ours"] == sizes["transformers"] == (4, 3)
    # Process 1 of 2 reads every other batch of 4: 8 examples a step over both processes.
    sampler = torch.utils.data.SequentialSampler(range(16))
    loader = dataloader_from_sampler(
        list(range(16)), None, None, sampler, batch_size=4, world_size=2, process_index=1
    )
    assert loader.total_batch_size == 8


def _actions(parser):
    return [
        {key: value for key, value in vars(action).items() if key not in ("container", "type")}
        for action in parser._actions
    ]


def test_literal_choices_are_given_as_transformers_gives_them():
    @dataclasses.dataclass
    class WithLiteral:
        foo: Literal["titi", "toto", 42] = "toto"
        bar: list[Literal["a", "b"]] = dataclasses.field(default_factory=lambda: ["a"])

    ours, theirs = HfArgumentParser(WithLiteral), transformers.HfArgumentParser(WithLiteral)
    assert _actions(ours)[:2] == _actions(theirs)[:2]
    foo = next(action for action in ours._actions if action.dest == "foo")
    assert foo.choices == ("titi", "toto", 42)
    expected = argparse.ArgumentParser()
    expected.add_argument("--foo", default="toto", choices=("titi", "toto", 42))
    for choice in expected._actions[1].choices + foo.choices:  # a tuple plus a tuple
        assert choice in foo.choices
    assert ours.parse_args(["--foo", "42"]).foo == 42
    assert ours.parse_args(["--bar", "b", "a"]).bar == ["b", "a"]
