"""Metric helpers: same keys, rounding, layout and files as transformers."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from trainer_loop.metrics import (
    denumpify_detensorize,
    format_log_metrics,
    metrics_format,
    save_metrics,
    speed_metrics,
)

METRICS = {
    "train_runtime": 3723.456789,
    "train_samples_per_second": 12.3456789,
    "train_loss": 0.123456789,
    "total_flos": 5 * 2**30 + 7,
    "epoch": 3.0,
    "train_mem_cpu_alloc_delta": 1301 * 2**20 + 5,
    "train_steps": 10,
    "note": "text",
}


def test_speed_metrics(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 110.0)
    assert speed_metrics("eval", 100.0, num_samples=1000, num_steps=30, num_tokens=7) == {
        "eval_runtime": 10.0,
        "eval_samples_per_second": 100.0,
        "eval_steps_per_second": 3.0,
        "eval_tokens_per_second": 0.7,
    }
    assert speed_metrics("train", 110.0, num_samples=5) == {"train_runtime": 0.0}
    assert list(speed_metrics("test", 107.0, num_steps=3)) == [
        "test_runtime",
        "test_steps_per_second",
    ]


def test_metrics_format():
    formatted = metrics_format(METRICS)
    assert formatted["train_runtime"] == "1:02:03.45"
    assert formatted["total_flos"] == "5GF"
    assert formatted["train_mem_cpu_alloc_delta"] == "1301MB"
    assert formatted["train_loss"] == 0.1235 and formatted["train_steps"] == 10
    assert METRICS["train_runtime"] == 3723.456789  # input untouched


def test_format_log_metrics_layout():
    text = format_log_metrics("eval", {"eval_loss": 0.5, "epoch": 1.0, "eval_runtime": 1.5})
    assert text == (
        "***** eval metrics *****\n"
        "  epoch        =        1.0\n"
        "  eval_loss    =        0.5\n"
        "  eval_runtime = 0:00:01.50"
    )
    assert format_log_metrics("x", {}) == "***** x metrics *****"


def test_save_metrics(tmp_path):
    out = tmp_path / "out"
    save_metrics(out, "train", {"train_loss": 0.5, "epoch": 1.0})
    save_metrics(out, "eval", {"eval_loss": 0.25, "epoch": 2.0})
    save_metrics(out, "test", {"test_loss": 0.1}, combined=False)
    assert json.loads((out / "train_results.json").read_text()) == {"epoch": 1.0, "train_loss": 0.5}
    assert json.loads((out / "all_results.json").read_text()) == {
        "epoch": 2.0,
        "eval_loss": 0.25,
        "train_loss": 0.5,
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "all_results.json",
        "eval_results.json",
        "test_results.json",
        "train_results.json",
    ]
    assert (
        out / "eval_results.json"
    ).read_text() == '{\n    "epoch": 2.0,\n    "eval_loss": 0.25\n}'


def test_denumpify_detensorize():
    torch = pytest.importorskip("torch")
    data = {
        "a": np.float32(0.5),
        "b": [np.int64(3), torch.tensor(2.0)],
        "c": (torch.ones(2),),
        "d": "s",
    }
    out = denumpify_detensorize(data)
    assert out["a"] == 0.5 and type(out["a"]) is float
    assert out["b"] == [3, 2.0] and type(out["b"][0]) is int
    assert isinstance(out["c"], tuple) and out["c"][0].shape == (2,)
    assert out["d"] == "s"


def test_matches_transformers(tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers")
    from transformers import trainer_pt_utils, trainer_utils

    assert metrics_format(METRICS) == trainer_pt_utils.metrics_format(METRICS)
    monkeypatch.setattr(time, "time", lambda: 57.0)
    for kwargs in ({}, {"num_samples": 33}, {"num_steps": 4, "num_tokens": 999}):
        assert speed_metrics("eval", 50.5, **kwargs) == trainer_utils.speed_metrics(
            "eval", 50.5, **kwargs
        )

    class FakeTrainer:
        args = type("A", (), {"output_dir": str(tmp_path / "hf")})()

        def is_world_process_zero(self):
            return True

    trainer_pt_utils.log_metrics(FakeTrainer(), "train", METRICS)
    assert capsys.readouterr().out == format_log_metrics("train", METRICS) + "\n"

    (tmp_path / "hf").mkdir()
    for split, values in (
        ("train", {"train_loss": 1.0, "epoch": 1.0}),
        ("eval", {"eval_loss": 2.0}),
    ):
        trainer_pt_utils.save_metrics(FakeTrainer(), split, values)
        save_metrics(tmp_path / "ours", split, values)
    for name in ("train_results.json", "eval_results.json", "all_results.json"):
        assert (tmp_path / "ours" / name).read_text() == (tmp_path / "hf" / name).read_text()
    data = {"a": [np.float64(1.5), np.int32(2)]}
    assert denumpify_detensorize(data) == trainer_utils.denumpify_detensorize(data)
