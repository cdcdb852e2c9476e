"""Local parquet shards read as a ``datasets`` stream, with a per-row map that counts its calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAPPED = {"rows": 0}


def write_shards(folder: Path, shards: int = 4, rows: int = 32, seed: int = 0) -> list[str]:
    """``shards`` parquet files of ``rows`` rows (``input_x``, ``labels``) in ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for shard in range(shards):
        x = rng.normal(size=rows).astype(np.float32)
        y = (2.0 * x + 3.0 + rng.normal(scale=0.1, size=rows)).astype(np.float32)
        path = folder / f"part-{shard:05d}.parquet"
        pq.write_table(pa.table({"input_x": x, "labels": y}), path)
        paths.append(str(path))
    return paths


def _count_row(row: dict) -> dict:
    MAPPED["rows"] += 1
    return {"input_x": row["input_x"] * 1.0, "labels": row["labels"]}


def stream(paths: list[str]):
    """A streaming ``datasets.IterableDataset`` over ``paths`` with a per-row map."""
    from datasets import load_dataset

    dataset = load_dataset("parquet", data_files=paths, split="train", streaming=True)
    return dataset.map(_count_row)
