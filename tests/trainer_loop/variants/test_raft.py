"""RaftTrainer: rounds of fine-tuning on fresh reward-ranked data, keeping model and optimizer."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import RaftTrainer, Trainer  # noqa: E402


def make_args(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(learning_rate=0.1, num_train_epochs=1, logging_steps=1, seed=7)
    return cpu_args(tmp_path, **(settings | overrides))


def reward_ranked(round_index: int, keep: int = 16) -> RegressionDataset:
    """A stand-in for 'samples the reward model ranked best' in one round."""
    return RegressionDataset(length=keep, seed=100 + round_index)


def test_later_rounds_keep_optimizer_schedule_and_weights(tmp_path):
    trainer = RaftTrainer(
        model=RegressionModel(), args=make_args(tmp_path), train_dataset=reward_ranked(0)
    )
    first = trainer.train(is_first_time=True)
    optimizer, scheduler = trainer.optimizer, trainer.lr_scheduler
    steps_per_round = first.global_step
    assert steps_per_round == 4
    adam_steps = optimizer.state[trainer.model.a]["step"].item()
    weights = trainer.model.a.detach().clone()

    trainer.train_dataset = reward_ranked(1)
    second = trainer.train()

    assert trainer.optimizer is optimizer and trainer.lr_scheduler is scheduler
    assert optimizer.state[trainer.model.a]["step"].item() == adam_steps + steps_per_round
    assert scheduler.last_epoch == 2 * steps_per_round
    # A fresh state per round: the step counter and the log restart.
    assert second.global_step == steps_per_round == trainer.state.global_step
    assert [e["step"] for e in trainer.state.log_history if "loss" in e] == [1, 2, 3, 4]
    assert not torch.equal(trainer.model.a.detach(), weights)
    assert trainer.rounds_completed == 2


def test_schedule_spans_schedule_rounds_of_the_first_round(tmp_path):
    trainer = RaftTrainer(
        model=RegressionModel(),
        args=make_args(tmp_path, lr_scheduler_type="linear"),
        train_dataset=reward_ranked(0),
        schedule_rounds=2,
    )
    trainer.train(is_first_time=True)
    # 4 of 8 scheduled steps done: a linear decay is half-way down.
    assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(0.05)
    trainer.train_dataset = reward_ranked(1)
    trainer.train()
    assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(0.0)


def test_rounds_differ_from_restarting_a_plain_trainer(tmp_path):
    """Carrying Adam's moments into the next round is what separates RAFT rounds from restarts."""
    raft = RaftTrainer(
        model=RegressionModel(),
        args=make_args(tmp_path, lr_scheduler_type="constant"),
        train_dataset=reward_ranked(0),
    )
    raft.train(is_first_time=True)
    plain = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, lr_scheduler_type="constant"),
        train_dataset=reward_ranked(0),
    )
    plain.train()
    assert torch.equal(raft.model.a.detach(), plain.model.a.detach())

    raft.train_dataset = reward_ranked(1)
    raft.train()
    restarted = Trainer(
        model=plain.model,
        args=make_args(tmp_path, lr_scheduler_type="constant"),
        train_dataset=reward_ranked(1),
    )
    restarted.train()
    assert not torch.allclose(raft.model.a.detach(), restarted.model.a.detach())


def test_first_time_again_rebuilds_the_schedule(tmp_path):
    trainer = RaftTrainer(
        model=RegressionModel(), args=make_args(tmp_path), train_dataset=reward_ranked(0)
    )
    trainer.train(is_first_time=True)
    scheduler = trainer.lr_scheduler
    trainer.train(is_first_time=True)
    assert trainer.lr_scheduler is not scheduler
    assert trainer.lr_scheduler.last_epoch == 4


def test_first_call_without_flag_is_a_first_round_and_saves_are_counted(tmp_path):
    trainer = RaftTrainer(
        model=RegressionModel(), args=make_args(tmp_path), train_dataset=reward_ranked(0)
    )
    trainer.train()
    assert trainer.lr_scheduler is not None and trainer.rounds_completed == 1
    trainer.save_model(str(tmp_path / "round1"))
    assert trainer.save_counter == 1
    assert (tmp_path / "round1" / "model.safetensors").is_file()


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="schedule_rounds"):
        RaftTrainer(model=RegressionModel(), args=make_args(tmp_path), schedule_rounds=0)
    trainer = RaftTrainer(model=RegressionModel(), args=make_args(tmp_path))
    with pytest.raises(ValueError, match="train_dataset"):
        trainer.train()
    trainer.train_dataset = reward_ranked(0)
    with pytest.raises(TypeError, match="model_path"):
        trainer.train(model_path="x")
    trainer.train()
    with pytest.raises(ValueError, match="first round"):
        trainer.train(resume_from_checkpoint=str(tmp_path))
