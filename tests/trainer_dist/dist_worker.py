"""Worker run in each of two CPU processes (gloo) by test_dist_two_process.py.

Builds the runtime from arguments, then checks ranks, padding + gathering of uneven tensors,
evaluation over an unevenly sharded dataset and trainer-driven gradient synchronisation.
Prints ``WORKER OK <rank>`` on success; any failed assertion exits non-zero.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import trainer_dist as td

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from helpers.launch import worker_done  # noqa: E402


def check_ranks(rt: td.Runtime) -> int:
    rank = int(os.environ["RANK"])
    assert rt.world_size == 2, rt.world_size
    assert rt.process_index == rank
    assert rt.local_process_index == rank
    assert rt.is_main_process == (rank == 0)
    assert rt.is_local_main_process == (rank == 0)
    assert rt.device.type == "cpu"
    assert str(rt.distributed_type).endswith("MULTI_CPU"), rt.distributed_type
    assert rt.accelerator.init_handler.timeout.total_seconds() == 120
    assert torch.distributed.get_backend() == "gloo"
    return rank


def check_uneven_gather(rt: td.Runtime, rank: int) -> None:
    # rank 0 holds 2 rows of length 3, rank 1 holds 2 rows of length 5
    width = 3 if rank == 0 else 5
    local = torch.full((2, width), rank + 1)
    gathered = td.gather_for_metrics(local, rt.accelerator)
    assert gathered.shape == (4, 5), gathered.shape
    assert gathered[:2, :3].eq(1).all() and gathered[:2, 3:].eq(-100).all()
    assert gathered[2:].eq(2).all()
    nested = {"logits": torch.full((1, width, 2), float(rank)), "loss": torch.tensor([float(rank)])}
    padded = td.pad_across_processes(nested, rt.accelerator)
    assert padded["logits"].shape == (1, 5, 2)
    assert padded["loss"].shape == (1,)
    # equally shaped: raw all-gather
    both = td.distributed_concat(torch.tensor([rank * 10]))
    assert both.tolist() == [0, 10]


class VarLenDataset(torch.utils.data.Dataset):
    """Item i is a sequence of length (i % 3) + 1 filled with i."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> dict:
        return {"ids": torch.full(((i % 3) + 1,), i)}


def collate(items: list[dict]) -> torch.Tensor:
    width = max(len(it["ids"]) for it in items)
    out = torch.full((len(items), width), -100)
    for row, it in enumerate(items):
        out[row, : len(it["ids"])] = it["ids"]
    return out


def check_uneven_eval(rt: td.Runtime) -> None:
    # 5 samples, batch size 2, 2 processes: the last step repeats samples to even out the ranks;
    # gather_for_metrics must drop those duplicates.
    loader = torch.utils.data.DataLoader(VarLenDataset(), batch_size=2, collate_fn=collate)
    loader = rt.accelerator.prepare(loader)
    accumulator = td.EvalAccumulator(accumulation_steps=1)
    for step, batch in enumerate(loader):
        accumulator.add(td.gather_for_metrics(batch, rt.accelerator))
        accumulator.maybe_offload(step)
    result = accumulator.get_arrays()
    assert result.shape[0] == 5, result
    firsts = sorted(int(row[0]) for row in result)
    assert firsts == [0, 1, 2, 3, 4], result
    for row in result:
        i = int(row[0])
        length = (i % 3) + 1
        assert (row[:length] == i).all() and (row[length:] == -100).all(), result


def check_trainer_driven_sync(rt: td.Runtime, rank: int) -> None:
    torch.manual_seed(0)
    # plain DDP (what accelerator.prepare would build on CPU), minus prepare's costly imports
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(1, 1, bias=False))
    x = torch.tensor([[float(rank + 1)]])

    def grads() -> list[float]:
        g = model.module.weight.grad.detach().reshape(1)
        return rt.accelerator.gather(g).tolist()

    # non-final micro-batch: no all-reduce, each rank keeps its own gradient
    rt.set_sync_gradients(False)
    ctx = rt.sync_context(model, sync=False)
    assert ctx is not td.NULL_CONTEXT
    with ctx:
        model(x).sum().backward()
    local = grads()
    assert local[0] != local[1], local
    model.zero_grad()
    # final micro-batch: gradients averaged across ranks
    rt.set_sync_gradients(True)
    with rt.sync_context(model, sync=True):
        model(x).sum().backward()
    synced = grads()
    assert synced[0] == synced[1], synced


def main() -> int:
    args = SimpleNamespace(
        use_cpu=True,
        ddp_backend="gloo",
        ddp_timeout=120,
        gradient_accumulation_steps=2,
        ddp_find_unused_parameters=False,
    )
    rt = td.create_runtime(args)
    rank = check_ranks(rt)
    check_uneven_gather(rt, rank)
    check_uneven_eval(rt)
    check_trainer_driven_sync(rt, rank)
    rt.wait_for_everyone()
    worker_done(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
