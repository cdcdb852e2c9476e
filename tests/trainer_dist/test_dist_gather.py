"""Gather, padding and accumulation helpers in a single process."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import trainer_dist as td


def test_nested_concat_pads_second_dim_with_minus_100():
    a = torch.ones(2, 3)
    b = torch.zeros(1, 5)
    out = td.nested_concat(a, b)
    assert out.shape == (3, 5)
    assert torch.equal(out[:2, 3:], torch.full((2, 2), -100.0))
    assert torch.equal(out[2], torch.zeros(5))
    out_np = td.nested_concat(a.numpy(), b.numpy(), padding_index=-1)
    assert out_np.shape == (3, 5) and out_np[0, 4] == -1


def test_nested_concat_structures_and_1d():
    a = {"x": torch.arange(2), "y": (torch.ones(1, 2), [torch.zeros(1)])}
    b = {"x": torch.arange(3), "y": (torch.ones(2, 4), [torch.ones(2)])}
    out = td.nested_concat(a, b)
    assert out["x"].tolist() == [0, 1, 0, 1, 2]
    assert out["y"][0].shape == (3, 4)
    assert isinstance(out["y"][1], list) and out["y"][1][0].tolist() == [0, 1, 1]
    scalar = td.nested_concat(torch.tensor(1.0), torch.tensor(2.0))
    assert scalar.tolist() == [1.0, 2.0]


def test_nested_concat_rejects_mismatched_structures():
    with pytest.raises(TypeError, match="same structure"):
        td.nested_concat((torch.ones(1),), [torch.ones(1)])
    with pytest.raises(TypeError, match="Unsupported"):
        td.nested_concat("a", "b")


def test_concat_batches_many_at_once():
    batches = [torch.full((1, n), float(n)) for n in (2, 4, 3)]
    out = td.concat_batches(batches)
    assert out.shape == (3, 4)
    assert out[0].tolist() == [2, 2, -100, -100]
    assert td.concat_batches([]) is None


def test_numpify_detach_truncate_find_batch_size():
    t = torch.ones(3, 2, requires_grad=True) * 2
    detached = td.nested_detach({"a": t, "b": [t, 5]})
    assert not detached["a"].requires_grad and detached["b"][1] == 5
    arrays = td.nested_numpify((t, {"h": t.to(torch.bfloat16)}))
    assert isinstance(arrays, tuple) and arrays[1]["h"].dtype == np.float32
    assert td.nested_truncate({"a": np.arange(5)}, 2)["a"].tolist() == [0, 1]
    assert td.find_batch_size([None, {"k": torch.zeros(4, 1)}]) == 4
    assert td.find_batch_size(torch.tensor(1.0)) is None
    assert td.find_batch_size("text") is None


def test_eval_accumulator_offloads_every_n_steps():
    acc = td.EvalAccumulator(accumulation_steps=2)
    assert acc.get_arrays() is None
    acc.add(None)
    assert acc.num_pending == 0
    for step in range(5):
        acc.add(torch.full((1, step + 1), float(step)))
        offloaded = acc.maybe_offload(step)
        assert offloaded == (step % 2 == 1)
        assert acc.num_pending == (0 if offloaded else 1)
    arrays = acc.get_arrays()
    assert isinstance(arrays, np.ndarray) and arrays.shape == (5, 5)
    assert arrays[0].tolist() == [0, -100, -100, -100, -100]
    assert arrays[4].tolist() == [4, 4, 4, 4, 4]
    assert acc.get_arrays() is arrays or np.array_equal(acc.get_arrays(), arrays)


def test_eval_accumulator_without_concat_keeps_batches():
    acc = td.EvalAccumulator(do_nested_concat=False)
    acc.add(torch.ones(2))
    acc.add(torch.zeros(3))
    arrays = acc.get_arrays()
    assert [a.tolist() for a in arrays] == [[1, 1], [0, 0, 0]]


def test_pad_and_gather_single_process_are_identity():
    acc = td.build_accelerator(SimpleNamespace(use_cpu=True))
    t = torch.arange(6).reshape(2, 3)
    assert torch.equal(td.pad_across_processes(t), t)
    assert torch.equal(td.pad_across_processes(t, acc), t)
    assert torch.equal(td.gather_for_metrics(t, acc), t)
    assert torch.equal(
        td.gather_for_metrics(torch.tensor([1.5, 2.5]), acc, pad_dim=None), torch.tensor([1.5, 2.5])
    )
    assert td.gather_for_metrics(None, acc) is None
    assert td.gather_for_metrics(["a", "b"], acc, use_gather_object=True) == ["a", "b"]


def test_distributed_concat_needs_process_group():
    if torch.distributed.is_initialized():
        pytest.skip("a process group exists in this process")
    with pytest.raises(RuntimeError, match="process group"):
        td.distributed_concat(torch.ones(1))
