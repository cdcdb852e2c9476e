"""``RaftTrainer``: reward-ranked fine-tuning, one ``train()`` call per round.

RAFT alternates two phases: sample responses from the current model and keep the ones a reward
model ranks best, then fine-tune on what was kept. Each round brings a fresh ``train_dataset``;
what must survive between rounds is the model, the optimizer (its moments) and the learning-rate
schedule. ``Trainer.train`` rebuilds the schedule on every call, so this subclass keeps the engine
built by the first round and only starts a new ``TrainerState`` (step counter, log history) for
each later round.
"""

from __future__ import annotations

import logging
from typing import Any

from .results import TrainOutput
from .trainer import Trainer

logger = logging.getLogger(__name__)


class RaftTrainer(Trainer):
    """A ``Trainer`` that is trained again and again on new, reward-ranked data.

    Set ``trainer.train_dataset`` to the samples kept in a round, then call ``train()``. The first
    call (or any call with ``is_first_time=True``) builds the optimizer and the schedule like
    ``Trainer.train``; later calls continue with the same model, optimizer and schedule, and start
    a fresh ``TrainerState`` so step counts and ``log_history`` are per round.

    ``schedule_rounds`` sets the schedule's horizon: it spans that many rounds of the first round's
    length (LMFlow's RAFT trainer uses 3). With a constant schedule it has no effect.
    """

    def __init__(self, *args: Any, schedule_rounds: int = 3, **kwargs: Any) -> None:
        if not isinstance(schedule_rounds, int) or isinstance(schedule_rounds, bool):
            raise TypeError(f"schedule_rounds must be an int, got {schedule_rounds!r}")
        if schedule_rounds < 1:
            raise ValueError(f"schedule_rounds must be >= 1, got {schedule_rounds}")
        super().__init__(*args, **kwargs)
        self.schedule_rounds = schedule_rounds
        self.save_counter = 0
        self.rounds_completed = 0
        self._raft_model: Any = None
        self._raft_first_round = True

    def train(
        self,
        resume_from_checkpoint: str | bool | None = None,
        trial: Any = None,
        ignore_keys_for_eval: list[str] | None = None,
        is_first_time: bool = False,
        **kwargs: Any,
    ) -> TrainOutput:
        """Run one round on the current ``train_dataset``.

        ``is_first_time=True`` (or the first call on this trainer) builds the optimizer and the
        schedule; any later call keeps them. ``resume_from_checkpoint`` applies to a first round
        only: later rounds continue from memory.
        """
        if kwargs:
            raise TypeError(f"train() got unexpected keyword arguments: {', '.join(kwargs)}.")
        if self.train_dataset is None:
            raise ValueError(
                "RaftTrainer.train() needs a train_dataset: set trainer.train_dataset."
            )
        first = is_first_time or self._raft_model is None
        if not first and resume_from_checkpoint not in (None, False):
            raise ValueError(
                "resume_from_checkpoint only applies to a first round (is_first_time=True); later "
                "rounds continue from the model and optimizer in memory."
            )
        self._raft_first_round = first
        model_init, self.model_init = self.model_init, (self.model_init if first else None)
        try:
            output = super().train(
                resume_from_checkpoint=resume_from_checkpoint if first else None,
                trial=trial,
                ignore_keys_for_eval=ignore_keys_for_eval,
            )
        finally:
            self.model_init = model_init
        self.rounds_completed += 1
        logger.info("RAFT round %d finished at step %d", self.rounds_completed, output.global_step)
        return output

    def _prepare_for_training(self, max_steps, train_dataloader, checkpoint):
        if self._raft_first_round:
            self._raft_model = super()._prepare_for_training(
                max_steps, train_dataloader, checkpoint
            )
            return self._raft_model
        # A later round: same wrapped model, optimizer and schedule; only the run's settings.
        return self._configure_run(self._raft_model, train_dataloader, checkpoint=None)

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        """The schedule of the first round, stretched over ``schedule_rounds`` rounds."""
        return super().create_scheduler(num_training_steps * self.schedule_rounds, optimizer)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model (see ``Trainer.save_model``) and count it in ``save_counter``."""
        super().save_model(output_dir, _internal_call=_internal_call)
        self.save_counter += 1
