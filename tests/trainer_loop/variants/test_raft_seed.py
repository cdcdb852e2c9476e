"""RaftTrainer as LMFlow's seed documents it: tokenizer=, is_first_time, _one_train, rounds."""

from __future__ import annotations

import importlib.util
import os

import pytest
from helpers.meta import require_meta_package

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_loop import RaftTrainer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class ToyTokenizer:
    """Stands in for a tokenizer; without ``pad`` the default collator stays in use."""

    pad_token_id = 0


def _args(tmp_path, **overrides):
    settings = dict(learning_rate=0.1, num_train_epochs=1, logging_steps=1, seed=7)
    return cpu_args(tmp_path, **(settings | overrides))


def test_tokenizer_argument_in_lmflow_position_and_by_name(tmp_path):
    tok = ToyTokenizer()
    collator = lambda rows: torch.utils.data.default_collate(rows)  # noqa: E731
    # LMFlow's order: model, args, data_collator, train_dataset, eval_dataset, tokenizer, ...
    positional = RaftTrainer(RegressionModel(), _args(tmp_path), collator, None, None, tok)
    assert positional.tokenizer is tok and positional.processing_class is tok
    named = RaftTrainer(model=RegressionModel(), args=_args(tmp_path), tokenizer=tok)
    assert named.tokenizer is tok
    named.tokenizer = None
    assert named.processing_class is None
    with pytest.raises(ValueError, match="processing_class"):
        RaftTrainer(
            model=RegressionModel(), args=_args(tmp_path), tokenizer=tok, processing_class=object()
        )


def test_lmflow_round_by_round_use(tmp_path):
    """The RAFT aligner's loop: a first train(is_first_time=True), then new data and train()."""
    trainer = RaftTrainer(
        model=RegressionModel(), args=_args(tmp_path), tokenizer=ToyTokenizer(), schedule_rounds=3
    )
    trainer.train_dataset = RegressionDataset(length=16, seed=100)
    first = trainer.train(resume_from_checkpoint=False, is_first_time=True)
    optimizer = trainer.optimizer
    outputs = [first]
    for round_index in (1, 2):
        trainer.train_dataset = RegressionDataset(length=16, seed=100 + round_index)
        outputs.append(trainer.train(resume_from_checkpoint=False))
    assert [o.global_step for o in outputs] == [4, 4, 4]
    assert trainer.optimizer is optimizer
    assert trainer.lr_scheduler.last_epoch == 12
    assert trainer.rounds_completed == 3
    assert outputs[-1].training_loss < outputs[0].training_loss


def test_one_train_continues_the_kept_engine(tmp_path):
    trainer = RaftTrainer(model=RegressionModel(), args=_args(tmp_path))
    with pytest.raises(RuntimeError, match="is_first_time=True"):
        trainer._one_train()
    trainer.train_dataset = RegressionDataset(length=16, seed=1)
    trainer.train(is_first_time=True)
    scheduler = trainer.lr_scheduler
    trainer.train_dataset = RegressionDataset(length=8, seed=2)
    output = trainer._one_train(batch_size=2)
    assert output.global_step == 4  # 8 examples at the new batch size of 2
    assert trainer.lr_scheduler is scheduler and scheduler.last_epoch == 8
    with pytest.raises(ValueError, match="first round"):
        trainer._one_train(resume_from_checkpoint=str(tmp_path))


def test_raft_example_reward_rises_over_rounds(capsys):
    require_meta_package()  # the example imports from `trainer`, as a user would
    spec = importlib.util.spec_from_file_location(
        "raft_toy_reward", os.path.join(REPO, "examples", "raft_toy_reward.py")
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    rewards = example.main(rounds=4)
    assert rewards[0] < 0.35  # chance level is 4 liked tokens out of 16
    assert rewards[-1] > rewards[0] + 0.3
    assert all(later > earlier for earlier, later in zip(rewards, rewards[1:]))
    assert "round 3" in capsys.readouterr().out
