"""Checkpoints written by a background thread while training goes on (opt-in).

Add ``BackgroundCheckpointing()`` to the trainer's callbacks to turn it on. At each save the
loop copies what a checkpoint holds into host memory (model weights, optimizer, scheduler and
scaler states, random-generator states, ``trainer_state.json`` as text) and hands the copy to one
writer thread. The writer fills a staging folder and renames it into place exactly as a blocking
save does (``checkpoints.staged_folder``), then rotates old checkpoints and pushes to the Hub.
Training waits only for the copy, and for the previous write when it is still running.

The writer is waited for before the next save, at the end of ``train()`` (before the best model
is loaded and before ``on_train_end``), and at the start of ``train()``. An exception raised in
the writer is raised again in the training thread at the first of those points.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..callbacks.base import TrainerCallback
from ..results import TRAINER_STATE_NAME
from . import files as ckpt
from .recipe import CheckpointRecipe, finish_checkpoint

logger = logging.getLogger(__name__)


class BackgroundCheckpointing(TrainerCallback):
    """Put this in ``callbacks=[...]`` to write checkpoints in a background thread.

    It has no hooks of its own: the training loop looks for it at every save. With several
    processes, DeepSpeed, FSDP, or a subclass that overrides one of the saving hooks, checkpoints
    are written in the training thread as usual (logged once). ``on_save`` callbacks run when the
    state has been copied, before the folder exists on disk.
    """


class CheckpointWriteError(RuntimeError):
    """A checkpoint written in the background failed; the original exception is the cause."""


class CheckpointWriter:
    """One write at a time in a worker thread; errors come back through :meth:`wait`."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._what = ""
        self.copier = HostCopier()

    @property
    def busy(self) -> bool:
        """Whether a write is still running."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, write: Callable[[], None], what: str) -> None:
        """Wait for the previous write (raising its error), then start ``write`` in the worker."""
        self.wait()
        self._what = what
        # Not a daemon: an interpreter that exits mid-write finishes the folder first.
        self._thread = threading.Thread(
            target=self._run, args=(write,), name="trainer-checkpoint-writer", daemon=False
        )
        self._thread.start()

    def _run(self, write: Callable[[], None]) -> None:
        try:
            write()
        except BaseException as error:  # handed to the training thread by wait()
            self._error = error

    def wait(self) -> None:
        """Block until the running write is done; raise ``CheckpointWriteError`` if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise CheckpointWriteError(
                f"Writing {self._what} in the background failed: {type(error).__name__}: {error}. "
                "Earlier checkpoints are whole; the failed one was left as a .staging- folder "
                "or not written at all."
            ) from error


class HostCopier:
    """Copies the tensors of a state into host buffers that are kept from one save to the next.

    Reusing the buffers spares the allocation (and the page faults of fresh memory) at every
    save; large states are copied by a few threads at once. The writer is always idle when a copy
    starts, so no buffer is overwritten while it is being written out.
    """

    PARALLEL_BYTES = 32 * 1024 * 1024

    def __init__(self) -> None:
        self._buffers: dict[str, list[torch.Tensor]] = {}

    def release(self) -> None:
        """Free the buffers (the next save allocates them again)."""
        self._buffers.clear()

    def copy(self, part: str, obj: Any) -> Any:
        """A deep copy of ``obj`` whose tensors live in this copier's CPU buffers for ``part``.

        Tensors sharing storage (tied weights) stay shared in the copy, and so do other objects
        that appear twice, so the copy pickles to the same bytes as the original.
        """
        buffers = self._buffers.setdefault(part, [])
        memo: dict[int, Any] = {}
        targets: dict[tuple, torch.Tensor] = {}
        jobs: list[tuple[torch.Tensor, torch.Tensor]] = []
        for tensor in _tensors_in(obj):
            if id(tensor) in memo:
                continue
            plain = tensor.detach()
            key = (
                plain.untyped_storage().data_ptr(),
                plain.storage_offset(),
                plain.dtype,
                tuple(plain.shape),
                tuple(plain.stride()),
                plain.device.type,
            )
            if not plain.numel() or key not in targets:
                index = len(jobs)
                target = buffers[index] if index < len(buffers) else None
                if target is None or not _fits(target, plain):
                    target = torch.empty_like(plain, device="cpu", pin_memory=plain.is_cuda)
                if index < len(buffers):
                    buffers[index] = target
                else:
                    buffers.append(target)
                jobs.append((target, plain))
                targets[key] = target
            memo[id(tensor)] = targets[key]
        _run_copies(jobs, self.PARALLEL_BYTES)
        return copy.deepcopy(obj, memo)


def to_host(obj: Any) -> Any:
    """A deep copy of ``obj`` whose tensors are fresh CPU tensors (see ``HostCopier.copy``)."""
    return HostCopier().copy("state", obj)


def _fits(buffer: torch.Tensor, tensor: torch.Tensor) -> bool:
    # Pinned or not, a CPU buffer takes any copy (is_pinned() could start a CUDA context).
    return (
        buffer.dtype == tensor.dtype
        and buffer.shape == tensor.shape
        and buffer.stride() == tensor.stride()
    )


def _run_copies(jobs: list[tuple[torch.Tensor, torch.Tensor]], parallel_bytes: int) -> None:
    def one(job: tuple[torch.Tensor, torch.Tensor]) -> None:
        target, source = job
        target.copy_(source, non_blocking=source.is_cuda)

    total = sum(source.numel() * source.element_size() for _, source in jobs)
    workers = min(4, os.cpu_count() or 1)
    if total >= parallel_bytes and workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        # Largest first, so the threads finish together; copy_ releases the GIL.
        ordered = sorted(jobs, key=lambda job: -job[1].numel() * job[1].element_size())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, ordered))
    else:
        for job in jobs:
            one(job)
    if any(source.is_cuda for _, source in jobs):
        torch.cuda.synchronize()


def _tensors_in(obj: Any) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _tensors_in(value)


def asks_for_background_saves(callbacks: list[Any]) -> bool:
    """Whether ``BackgroundCheckpointing`` is among ``callbacks``."""
    return any(isinstance(cb, BackgroundCheckpointing) for cb in callbacks)


def wait_for_writer(trainer: Any, release_buffers: bool = False) -> None:
    """Wait for a background checkpoint write of ``trainer``, raising its error (no-op if none).

    ``release_buffers`` also frees the host copies kept for the next save (end of ``train()``).
    """
    trainer._wait_for_checkpoint_writer(release_buffers=release_buffers)


def write_in_background(
    writer: CheckpointWriter,
    recipe: CheckpointRecipe,
    model_state: dict[str, torch.Tensor],
    states: dict[str, Any],
    write_model_files: Callable[[str, dict[str, torch.Tensor]], None],
    push: Callable[[str], None] | None,
) -> None:
    """Copy the checkpoint's states to host memory and let ``writer`` put the folder on disk.

    ``states`` maps file names (``optimizer.pt``, ``rng_state.pth``, ...) to the objects saved
    there; ``write_model_files(folder, state_dict)`` writes the weights and the files that go with
    them. Training waits for the copy only; the folder is finished (push, rotation) in the worker.
    """
    host = writer.copier
    model_copy = host.copy("model", model_state)
    copies = {name: host.copy(name, state) for name, state in states.items()}

    def write() -> None:
        with ckpt.staged_folder(recipe.final_dir, is_writer=True) as staging:
            write_model_files(staging, model_copy)
            for name, state in copies.items():
                ckpt.atomic_torch_save(state, os.path.join(staging, name))
            for name, text in recipe.rank_files.items():
                ckpt.write_text(text, os.path.join(staging, name))
            if recipe.state_json is not None:
                ckpt.write_text(recipe.state_json, os.path.join(staging, TRAINER_STATE_NAME))
        finish_checkpoint(recipe, push, rotate=True)

    writer.submit(write, os.path.basename(recipe.final_dir))
