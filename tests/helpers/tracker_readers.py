"""Read back what each tracker client wrote locally, with the client's own reader or file format.

Each reader takes the folder a run wrote under and returns a ``Readback``: the metric series by
the Trainer's key (``loss``, ``eval_loss``) as ``[(step, value), ...]`` and the run configuration
as a flat dict.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import struct
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: report_to name -> module that must be importable
CLIENTS = {
    "wandb": "wandb",
    "mlflow": "mlflow",
    "trackio": "trackio",
    "comet_ml": "comet_ml",
    "dvclive": "dvclive",
    "clearml": "clearml",
    "swanlab": "swanlab",
    "neptune": "neptune",
}


@dataclass
class Readback:
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, step: int, value: float) -> None:
        self.series.setdefault(key, []).append((int(step), float(value)))


def _trainer_key(grouped: str) -> str:
    """``train/loss`` -> ``loss``, ``eval/loss`` -> ``eval_loss`` (inverse of rewrite_logs)."""
    group, _, name = grouped.partition("/")
    return name if group == "train" else f"{group}_{name}"


# -- wandb: the offline run's transaction log (LevelDB log records of wandb protobufs) -------


def _wandb_records(path: str) -> list[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B" and magic == 0xBEE1
    block, pos, pending, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def read_wandb(root: str, wait: float = 30.0) -> Readback:
    (path,) = glob.glob(os.path.join(root, "wandb", "offline-run-*", "run-*.wandb"))
    deadline = time.monotonic() + wait
    records = _wandb_records(path)
    # wandb's service writes the file in the background: wait for the run's exit record
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, f"{path} has no exit record"
        time.sleep(0.5)
        records = _wandb_records(path)
    out = Readback()
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = {
                (i.key or "/".join(i.nested_key)): json.loads(i.value_json)
                for i in record.history.item
            }
            step = row["train/global_step"]
            for key, value in row.items():
                if "/" in key and key != "train/global_step":
                    out.add(_trainer_key(key), step, value)
        elif kind == "config":
            for item in record.config.update:
                out.config[item.key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                if item.key:
                    out.config.setdefault("_summary", {})[item.key] = json.loads(item.value_json)
    return out


# -- mlflow: the tracking store through MlflowClient -------------------------------------------


def read_mlflow(uri: str) -> Readback:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    (run,) = client.search_runs(experiments)
    out = Readback(config=dict(run.data.params))
    out.config["_run_name"] = run.info.run_name
    for key in run.data.metrics:
        for metric in client.get_metric_history(run.info.run_id, key):
            out.add(key, metric.step, metric.value)
    return out


# -- trackio: the project's local database through SQLiteStorage -----------------------------


def read_trackio(project: str, run: str) -> Readback:
    from trackio.sqlite_storage import SQLiteStorage

    out = Readback(config=SQLiteStorage.get_run_config(project, run) or {})
    for row in SQLiteStorage.get_logs(project, run):
        step = row["train/global_step"]
        for key, value in row.items():
            if "/" in key and key != "train/global_step" and isinstance(value, (int, float)):
                out.add(_trainer_key(key), step, value)
    return out


# -- comet: the offline experiment archive ------------------------------------------------------


def read_comet(folder: str) -> Readback:
    (archive,) = glob.glob(os.path.join(folder, "*.zip"))
    out = Readback()
    with zipfile.ZipFile(archive) as handle:
        lines = handle.read("messages.json").decode().splitlines()
    for line in lines:
        message = json.loads(line)
        payload = message["payload"]
        if message["type"] == "metric_msg":
            metric = payload["metric"]
            if "/" in metric["metricName"] and metric["step"] is not None:
                out.add(_trainer_key(metric["metricName"]), metric["step"], metric["metricValue"])
        elif message["type"] == "parameter_msg":
            param = payload.get("param") or payload["params"]
            if param["paramName"].startswith("args|"):
                out.config[param["paramName"][len("args|") :]] = param["paramValue"]
    return out


# -- dvclive: the plots and params files DVCLive writes -----------------------------------------


def read_dvclive(folder: str) -> Readback:
    import yaml

    out = Readback()
    with open(os.path.join(folder, "params.yaml"), encoding="utf-8") as handle:
        out.config = yaml.safe_load(handle)
    plots = os.path.join(folder, "plots", "metrics")
    for path in glob.glob(os.path.join(plots, "**", "*.tsv"), recursive=True):
        name = os.path.relpath(path, plots)[: -len(".tsv")].replace(os.sep, "/")
        key = name.replace("/", "_")  # DVCLive's names: loss, eval/loss, train/runtime
        with open(path, encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                out.add(key, int(row["step"]), float(row[os.path.basename(name)]))
    return out


# -- clearml: the offline session folder --------------------------------------------------------


def read_clearml(home: str) -> Readback:
    (session,) = [
        p
        for p in glob.glob(os.path.join(home, ".clearml", "cache", "offline", "offline-*"))
        if os.path.isdir(p)
    ]
    out = Readback()
    with open(os.path.join(session, "task.json"), encoding="utf-8") as handle:
        task = json.load(handle)
    for name, entry in task["hyperparams"].get("Transformers", {}).items():
        out.config[name] = entry["value"]
    with open(os.path.join(session, "metrics.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            for event in json.loads(line):
                if event.get("type") != "training_stats_scalar" or event["metric"] == "Summary":
                    continue
                group, series = event["metric"], event["variant"]
                key = series if group == "train" else f"{group}_{series}"
                out.add(key, event["iter"], event["value"])
    return out


# -- swanlab: the local run's record file through swanlab's DataStoreReader -------------------


def read_swanlab(log_dir: str) -> Readback:
    import yaml
    from swanlab.proto.swanlab.record.v1 import record_pb2
    from swanlab.sdk.internal.core_python.store import DataStoreReader

    (run_dir,) = glob.glob(os.path.join(log_dir, "run-*"))
    out = Readback()
    with open(os.path.join(run_dir, "files", "config.yaml"), encoding="utf-8") as handle:
        out.config = {k: v["value"] for k, v in yaml.safe_load(handle).items()}
    reader = DataStoreReader()
    (path,) = glob.glob(os.path.join(run_dir, "run-*.swanlab"))
    reader.open(path)
    try:
        for data in reader:
            record = record_pb2.Record()
            record.ParseFromString(data)
            if record.HasField("scalar"):
                key = record.scalar.key
                if "/" in key and key != "train/global_step" and not key.startswith("single_"):
                    out.add(_trainer_key(key), record.scalar.step, record.scalar.value.number)
    finally:
        reader.close()
    return out


# -- neptune: the offline run's operation queue -------------------------------------------------


def read_neptune(root: str, namespace: str = "finetuning") -> Readback:
    (queue,) = glob.glob(os.path.join(root, ".neptune", "offline", "run__*", "data-*.log"))
    out = Readback()
    with open(queue, encoding="utf-8") as handle:
        for line in handle:
            operation = json.loads(line)["obj"]
            path = operation["path"]
            if path[0] != namespace:
                continue
            if path[1] == "trainer_parameters" and "value" in operation:
                out.config["/".join(path[2:])] = operation["value"]
            elif operation["type"] == "LogFloats" and len(path) == 3:
                for point in operation["values"]:
                    out.add(_trainer_key(f"{path[1]}/{path[2]}"), point["step"], point["value"])
    return out
