"""``data_state.json``: where each process was in its training data, and the run's batch layout.

Every checkpoint with training state holds one small JSON file per process (``data_state.json``,
or ``data_state_<rank>.json`` with several processes, named like the RNG files)::

    {"format": 1, "world_size": 2, "rank": 0, "per_device_batch": 8, "accumulation": 1,
     "num_workers": 0, "gradient_divisor": 1, "global_step": 20, "split": "none",
     "source": {"type": "IterableDataset", "num_shards": 4, "files": [...]},
     "position": {"kind": "dataset", "state": {...}} | null}

``position`` is set when the data can report where it is (``trainer_data.data_state``); resuming
then restores it instead of reading the consumed examples again. Without it (map-style data,
data without ``state_dict``, or a checkpoint written by transformers), the resumed epoch skips
the consumed batches as before. The batch layout lets a resume on another number of processes
say what changes; ``gradient_divisor`` keeps the gradient's scale when the accumulation steps
change (``checkpointing/gradient_scale.py``). Nothing here reads the trainer: the functions take values.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from trainer_data import skip_first_batches
from trainer_data.data_state import (
    DataStateMismatch,
    can_report_position,
    capture_position,
    describe_source,
    restore_position,
    source_mismatch,
)

logger = logging.getLogger(__name__)

DATA_STATE_FORMAT = 1


def data_state_file_name(world_size: int, rank: int) -> str:
    """``data_state.json`` for one process, ``data_state_<rank>.json`` for several."""
    return "data_state.json" if world_size <= 1 else f"data_state_{rank}.json"


def run_layout(
    args: Any, per_device_batch: int | None, gradient_divisor: int | None = None
) -> dict[str, int]:
    """How a run with these ``TrainingArguments`` splits its global batch (saved in
    ``data_state.json``): ``per_device_batch`` when ``auto_find_batch_size`` lowered it, and
    ``gradient_divisor`` when the run has one (``checkpointing/gradient_scale.py``)."""
    layout = {
        "world_size": max(int(args.world_size), 1),
        "rank": int(args.process_index),
        "per_device_batch": int(per_device_batch or args.per_device_train_batch_size),
        "accumulation": int(args.gradient_accumulation_steps),
        "num_workers": int(args.dataloader_num_workers),
    }
    if gradient_divisor is not None:
        layout["gradient_divisor"] = int(gradient_divisor)
    return layout


def global_batch(layout: dict[str, Any]) -> int:
    """Examples per optimizer step over all processes."""
    return layout["per_device_batch"] * layout["accumulation"] * layout["world_size"]


def _split(loader: Any, world_size: int) -> str:
    """How the stream of ``loader`` was divided among processes: by shards, by examples, none."""
    if world_size <= 1:
        return "none"
    dataset = getattr(loader, "dataset", None)
    for _ in range(8):
        if dataset is None:
            break
        if type(dataset).__name__ == "IterableDatasetShard":
            return "by_examples"
        dataset = getattr(dataset, "dataset", None)
    return "by_shards"


def data_state_text(loader: Any, layout: dict[str, int], global_step: int) -> str:
    """The JSON text of this process's ``data_state.json`` (the position when it is known)."""
    position = (
        capture_position(loader) if loader is not None and can_report_position(loader) else None
    )
    payload: dict[str, Any] = {"format": DATA_STATE_FORMAT, **layout, "global_step": global_step}
    if position is not None:
        payload["split"] = _split(loader, layout["world_size"])
        payload["source"] = describe_source(loader.dataset)
    payload["position"] = position
    return json.dumps(payload)


def read_data_states(checkpoint: str) -> dict[int, dict[str, Any]]:
    """The ``data_state*.json`` files of a checkpoint by rank (empty when it has none)."""
    found: dict[int, dict[str, Any]] = {}
    if not checkpoint or not os.path.isdir(checkpoint):
        return found
    for name in os.listdir(checkpoint):
        if not (name.startswith("data_state") and name.endswith(".json")):
            continue
        with open(os.path.join(checkpoint, name), encoding="utf-8") as f:
            payload = json.load(f)
        if isinstance(payload, dict) and payload.get("format") == DATA_STATE_FORMAT:
            found[int(payload.get("rank", 0))] = payload
    return found


def saved_layout(states: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The batch layout a checkpoint was written with (from rank 0's file), or None."""
    first = states.get(0) or next(iter(states.values()), None)
    if first is None:
        return None
    keys = ("world_size", "per_device_batch", "accumulation", "num_workers", "gradient_divisor")
    return {key: first[key] for key in keys if key in first}


def resume_data_position(
    loader: Any,
    checkpoint: str,
    batches_to_skip: int,
    layout: dict[str, int],
    states: dict[int, dict[str, Any]] | None = None,
) -> Any:
    """The loader to iterate for the resumed epoch, starting after the consumed batches.

    When the checkpoint holds this process's data position and the data can take it, the
    position is restored on ``loader`` itself (nothing is read again) and ``loader`` is
    returned; otherwise the consumed batches are skipped (:func:`skip_first_batches`).

    Raises ``DataStateMismatch`` when the saved position belongs to other data (another file
    list, shard count or length) or cannot follow a change of process or worker count.
    """
    states = read_data_states(checkpoint) if states is None else states
    world, rank = layout["world_size"], layout["rank"]
    mine = states.get(rank) if states.get(rank, {}).get("world_size") == world else states.get(0)
    position = mine.get("position") if mine else None
    if position is not None and can_report_position(loader):
        _check_can_follow(mine, layout, loader, checkpoint)
        if restore_position(loader, position):
            return loader
    if _is_iterable_loader(loader):
        logger.info(
            "Resuming mid-epoch: reading %d examples again to reach the checkpoint's position, "
            "because %s. Data with state_dict()/load_state_dict() (a datasets streaming "
            "dataset) resumes without reading them.",
            batches_to_skip * (getattr(loader, "batch_size", None) or 1),
            "the checkpoint holds no data position"
            if position is None
            else "the training data cannot report its position",
        )
    return skip_first_batches(loader, batches_to_skip)


def _is_iterable_loader(loader: Any) -> bool:
    from torch.utils.data import IterableDataset

    return isinstance(getattr(loader, "dataset", None), IterableDataset)


def _check_can_follow(
    saved: dict[str, Any], layout: dict[str, int], loader: Any, checkpoint: str
) -> None:
    if saved.get("world_size") != layout["world_size"]:
        movable = {saved.get("split"), _split(loader, layout["world_size"])} <= {
            "none",
            "by_examples",
        }
        if not movable or saved["position"].get("kind") != "dataset":
            raise DataStateMismatch(
                f"The data position saved in {checkpoint} was taken by {saved.get('world_size')} "
                f"process(es) and this run has {layout['world_size']}; a stream split by shards keeps "
                "one position per process, which cannot be moved to another process count: resume "
                f"with {saved.get('world_size')} processes, or set ignore_data_skip=True to start "
                "this epoch's data from its beginning."
            )
    differs = source_mismatch(saved.get("source") or {}, describe_source(loader.dataset))
    if differs is not None:
        raise DataStateMismatch(
            f"The data position saved in {checkpoint} belongs to other training data ({differs}): "
            "resume with the dataset the checkpoint was trained on, or set ignore_data_skip=True "
            "to start this epoch's data from its beginning."
        )
    if saved.get("num_workers") != layout["num_workers"]:
        raise DataStateMismatch(
            f"The data position saved in {checkpoint} was taken with dataloader_num_workers="
            f"{saved.get('num_workers')} and this run uses {layout['num_workers']}, and each "
            "worker keeps its own position: resume with the same dataloader_num_workers, or set "
            "ignore_data_skip=True to start this epoch's data from its beginning."
        )
