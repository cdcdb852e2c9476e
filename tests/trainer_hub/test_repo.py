"""init_repo against the fake Hub: naming, namespace, visibility, reuse and token resolution."""

from __future__ import annotations

import pytest

pytest.importorskip("huggingface_hub")

import trainer_hub  # noqa: E402
from helpers.fake_hub import FAKE_TOKEN, FAKE_USER  # noqa: E402


def test_repo_named_after_output_dir_in_user_namespace(fake_hub, make_args):
    repo_id = trainer_hub.init_repo(make_args())
    assert repo_id == f"{FAKE_USER}/run"
    repo = fake_hub.repos[repo_id]
    assert repo.private is False
    assert ("POST", "/api/repos/create", FAKE_USER) in fake_hub.requests


def test_hub_model_id_and_private_flag(fake_hub, make_args):
    args = make_args(hub_model_id="acme/tiny-model", hub_private_repo=True)
    assert trainer_hub.init_repo(args) == "acme/tiny-model"
    assert fake_hub.repos["acme/tiny-model"].private is True


def test_hub_model_id_without_namespace(fake_hub, make_args):
    assert trainer_hub.init_repo(make_args(hub_model_id="tiny")) == f"{FAKE_USER}/tiny"


def test_existing_repo_is_reused(fake_hub, make_args):
    args = make_args(hub_model_id="tiny")
    first = trainer_hub.init_repo(args)
    second = trainer_hub.init_repo(args)
    assert first == second == f"{FAKE_USER}/tiny"
    assert len(fake_hub.repos) == 1


def test_token_argument_wins_over_args(fake_hub, make_args):
    fake_hub.tokens["hf_other_token_for_tests"] = "someone"
    repo_id = trainer_hub.init_repo(make_args(), token="hf_other_token_for_tests")
    assert repo_id == "someone/run"


def test_saved_login_is_used_without_hub_token(fake_hub, make_args, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    assert trainer_hub.init_repo(make_args(hub_token=None)) == f"{FAKE_USER}/run"


def test_bad_token_raises(fake_hub, make_args):
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError):
        trainer_hub.init_repo(make_args(hub_token="hf_not_a_known_token"))
