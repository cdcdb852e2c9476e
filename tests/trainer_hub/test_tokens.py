"""Where a ``hub_token`` can end up, besides the uploads covered in test_push.py."""

from __future__ import annotations

import copy
import pickle

import pytest

pytest.importorskip("huggingface_hub")

import trainer_hub  # noqa: E402
from helpers.fake_hub import FAKE_TOKEN  # noqa: E402


def test_model_card_never_holds_the_token(make_args, make_trainer):
    card = trainer_hub.build_model_card(make_trainer(make_args(hub_token=FAKE_TOKEN)))
    assert FAKE_TOKEN not in str(card)


def test_failure_messages_are_redacted():
    from trainer_hub._client import redact, secrets_of

    args = type("Args", (), {"hub_token": FAKE_TOKEN})()
    secrets = secrets_of(args, None, "hf_other")
    assert secrets == ["hf_other", FAKE_TOKEN]
    assert redact(f"bad {FAKE_TOKEN} and hf_other", secrets) == "bad <hub_token> and <hub_token>"


def test_pickled_arguments_hold_no_token(make_args):
    args = make_args(hub_token=FAKE_TOKEN)
    assert FAKE_TOKEN.encode() not in pickle.dumps(args)
    assert pickle.loads(pickle.dumps(args)).hub_token is None
    # In-memory copies keep it: a copied Trainer still pushes.
    assert copy.deepcopy(args).hub_token == FAKE_TOKEN == copy.copy(args).hub_token
