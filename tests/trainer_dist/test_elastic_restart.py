"""A torchrun worker group restarted in place sets up its process group on keys of its own.

The whole restart (rank 1 dies, torchrun starts both ranks again, the job resumes bitwise) runs
in ``tests/integration/test_relaunch_after_rank_death.py``; these are the cases where nothing
should happen, and the multi-node case, where only a launch setting helps.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

pytest.importorskip("torch")

from trainer_dist.elastic import join_restarted_group, restart_attempt  # noqa: E402

TIMEOUT = timedelta(seconds=5)


@pytest.fixture
def restarted(monkeypatch):
    for name, value in {
        "TORCHELASTIC_RESTART_COUNT": "1",
        "TORCHELASTIC_USE_AGENT_STORE": "True",
        "WORLD_SIZE": "4",
        "LOCAL_WORLD_SIZE": "4",
        "RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_restart_count_comes_from_torchrun(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RESTART_COUNT", raising=False)
    assert restart_attempt() == 0
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "2")
    assert restart_attempt() == 2
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "x")
    assert restart_attempt() == 0


def test_first_attempts_and_jobs_outside_the_agent_store_are_left_to_accelerate(restarted):
    restarted.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    assert join_restarted_group("gloo", TIMEOUT) is False
    restarted.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    restarted.setenv("TORCHELASTIC_USE_AGENT_STORE", "False")
    assert join_restarted_group("gloo", TIMEOUT) is False


def test_several_agents_get_the_launch_settings_instead(restarted, caplog):
    restarted.setenv("LOCAL_WORLD_SIZE", "2")  # two nodes of two ranks: counts may differ
    with caplog.at_level(logging.WARNING, logger="trainer_dist.elastic"):
        assert join_restarted_group("gloo", TIMEOUT) is False
    assert "--rdzv-backend=c10d and TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in caplog.text
