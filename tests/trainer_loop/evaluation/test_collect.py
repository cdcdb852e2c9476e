"""Evaluation output collection: joining, padding, offloading and per-sample losses."""

from __future__ import annotations

import numpy as np
import torch
from trainer_loop.evaluation.collect import BatchCollector, LossCollector, batch_size_of


def test_batches_of_different_widths_are_padded_with_minus_100():
    c = BatchCollector()
    c.add(torch.ones(2, 3))
    c.add(torch.full((1, 5), 2.0))
    out = c.result()
    assert isinstance(out, np.ndarray) and out.shape == (3, 5)
    assert (out[:2, 3:] == -100).all() and (out[2] == 2).all() and (out[:2, :3] == 1).all()


def test_offloaded_chunks_and_nested_outputs_join_in_order():
    c = BatchCollector()
    for i in range(5):
        c.add((torch.full((2, 2), float(i)), {"h": torch.full((2,), float(i))}))
        if i % 2 == 1:
            c.offload()
    logits, extra = c.result()
    assert logits[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert extra["h"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_truncation_drops_trailing_rows_and_bfloat16_becomes_float32():
    c = BatchCollector()
    c.add(torch.arange(4, dtype=torch.bfloat16))
    c.add(torch.arange(4, 8, dtype=torch.bfloat16))
    out = c.result(limit=6)
    assert out.dtype == np.float32 and out.tolist() == [0, 1, 2, 3, 4, 5]


def test_without_concatenation_each_batch_is_kept():
    c = BatchCollector(do_concat=False)
    c.add(torch.zeros(2))
    c.add(torch.ones(3))
    assert [a.tolist() for a in c.result()] == [[0, 0], [1, 1, 1]]


def test_losses_expand_to_one_value_per_sample():
    c = LossCollector()
    c.add(torch.tensor(1.0), 3)
    c.add(torch.tensor(2.0), 1)
    c.offload()
    c.add(torch.tensor([3.0, 4.0]), 2)  # one loss per process after a gather
    out = c.result()
    assert out.tolist() == [1, 1, 1, 2, 3, 3, 4, 4]
    assert out.mean() == np.repeat([1.0, 2.0, 3.0, 4.0], [3, 1, 2, 2]).mean()


def test_losses_without_concatenation_are_per_batch_arrays():
    c = LossCollector(do_concat=False)
    c.add(torch.tensor(1.0), 2)
    c.add(torch.tensor([2.0, 3.0]), 1)
    assert [a.tolist() for a in c.result()] == [[1, 1], [2, 3]]


def test_batch_size_is_read_from_the_first_tensor():
    assert batch_size_of({"meta": "x", "ids": torch.zeros(7, 2)}) == 7
    assert batch_size_of([{"a": np.zeros((3,))}]) == 3
    assert batch_size_of({"scalar": torch.tensor(1.0)}) is None
    assert batch_size_of({"none": None}) is None


def test_scalar_losses_keep_their_dtype_and_split_per_batch():
    c = LossCollector(do_concat=False)
    c.add(torch.tensor(1.5, dtype=torch.float64), 2)
    c.add(torch.tensor(2.5, dtype=torch.float64), 3)
    out = c.result()
    assert [a.tolist() for a in out] == [[1.5, 1.5], [2.5, 2.5, 2.5]]
    assert out[0].dtype == np.float64
