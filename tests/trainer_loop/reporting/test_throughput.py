"""train_mfu in the final train metrics, train_tokens_per_second in the logs (reporting.throughput)."""

from __future__ import annotations

import logging

import pytest
import torch
from helpers.arguments import cpu_args
from torch import nn
from trainer_loop import Trainer
from trainer_loop.reporting import throughput
from trainer_loop.reporting.throughput import PEAK_FLOPS_ENV, device_peak_flops, peak_for_name

VOCAB, SEQ = 32, 8


class CountedLM(nn.Module):
    """A tiny next-token model that can count its parameters, so the trainer counts FLOPs."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(VOCAB, 16)
        self.head = nn.Linear(16, VOCAB)

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        skip = {id(self.embed.weight)} if exclude_embeddings else set()
        return sum(p.numel() for p in self.parameters() if id(p) not in skip)

    def forward(self, input_ids, labels=None):
        logits = self.head(self.embed(input_ids))
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())
        return {"loss": loss, "logits": logits}


class UncountedLM(CountedLM):
    num_parameters = None  # type: ignore[assignment]

    def __getattribute__(self, name):
        if name == "num_parameters":
            raise AttributeError(name)
        return super().__getattribute__(name)


def _data(n: int = 16) -> list[dict]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (n, SEQ), generator=g)
    return [{"input_ids": ids[i], "labels": ids[i]} for i in range(n)]


@pytest.fixture(autouse=True)
def fresh_notice(monkeypatch):
    monkeypatch.setattr(throughput, "_said_no_mfu", False)
    monkeypatch.delenv(PEAK_FLOPS_ENV, raising=False)


def _train(tmp_path, model=None, **overrides):
    args = cpu_args(tmp_path, max_steps=4, logging_steps=2, **overrides)
    trainer = Trainer(model=model or CountedLM(), args=args, train_dataset=_data())
    return trainer, trainer.train().metrics


@pytest.mark.parametrize(
    ("name", "peak"),
    [
        ("NVIDIA H200", 989.4e12),
        ("NVIDIA H100 80GB HBM3", 989.4e12),
        ("NVIDIA H100 PCIe", 756.5e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA A10G", 70e12),
        ("NVIDIA L4", 121e12),
        ("NVIDIA L40S", 362.05e12),
        ("NVIDIA GeForce RTX 4090", 165.2e12),
        ("Some Future Accelerator", None),
    ],
)
def test_peak_table_matches_the_most_specific_name(name, peak):
    assert peak_for_name(name) == peak


def test_peak_override_from_the_environment(monkeypatch):
    assert device_peak_flops("cpu") is None
    monkeypatch.setenv(PEAK_FLOPS_ENV, "1.5e12")
    assert device_peak_flops("cpu") == 1.5e12
    monkeypatch.setenv(PEAK_FLOPS_ENV, "fast")
    assert device_peak_flops("cpu") is None


def test_mfu_is_this_runs_flos_over_runtime_and_peak(tmp_path, monkeypatch):
    monkeypatch.setenv(PEAK_FLOPS_ENV, "2e9")
    trainer, metrics = _train(tmp_path)
    # 6 x non-embedding parameters x input tokens, as total_flos counts them.
    flos = 6 * (16 * VOCAB + VOCAB) * 4 * 4 * SEQ
    assert trainer.state.total_flos == flos  # the printer pops total_flos from metrics
    expected = flos / metrics["train_runtime"] / 2e9
    assert metrics["train_mfu"] == pytest.approx(expected, rel=1e-3, abs=1e-4)
    assert trainer.state.log_history[-1]["train_mfu"] == metrics["train_mfu"]


def test_resumed_run_counts_only_its_own_flos(tmp_path, monkeypatch):
    monkeypatch.setenv(PEAK_FLOPS_ENV, "2e9")
    trainer, _ = _train(tmp_path, save_strategy="steps", save_steps=2)
    args = cpu_args(tmp_path, max_steps=4, logging_steps=2)
    resumed = Trainer(model=CountedLM(), args=args, train_dataset=_data())
    metrics = resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2")).metrics
    half = 6 * (16 * VOCAB + VOCAB) * 2 * 4 * SEQ
    assert resumed.state.total_flos == 2 * half
    assert metrics["train_mfu"] == pytest.approx(
        half / metrics["train_runtime"] / 2e9, rel=1e-3, abs=1e-4
    )


def test_no_peak_leaves_mfu_out_and_says_so_once(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="trainer_loop.reporting.throughput"):
        _, first = _train(tmp_path)
        _, second = _train(tmp_path)
    assert "train_mfu" not in first and "train_mfu" not in second
    notices = [r for r in caplog.records if "train_mfu is left out" in r.getMessage()]
    assert len(notices) == 1
    assert PEAK_FLOPS_ENV in notices[0].getMessage()


def test_model_without_flop_estimate_gives_no_mfu(tmp_path, monkeypatch):
    monkeypatch.setenv(PEAK_FLOPS_ENV, "2e9")
    trainer, metrics = _train(tmp_path, model=UncountedLM())
    assert trainer.state.total_flos == 0
    assert "train_mfu" not in metrics


def test_tokens_per_second_is_logged_as_transformers_logs_it(tmp_path):
    _, without = _train(tmp_path)
    assert "train_tokens_per_second" not in without
    trainer, metrics = _train(tmp_path, include_num_input_tokens_seen=True)
    assert metrics["num_input_tokens_seen"] == 4 * 4 * SEQ
    # Each logging step carries it; the final metrics do not repeat it (transformers 5.3.0).
    logged = [e for e in trainer.state.log_history if "loss" in e]
    assert logged and all(e["train_tokens_per_second"] > 0 for e in logged)
    assert "train_tokens_per_second" not in metrics
