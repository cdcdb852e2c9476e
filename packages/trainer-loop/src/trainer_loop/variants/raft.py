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
from collections.abc import Callable
from typing import Any

from ..results import TrainOutput
from ..trainer import Trainer

logger = logging.getLogger(__name__)


class RaftTrainer(Trainer):
    """A ``Trainer`` that is trained again and again on new, reward-ranked data.

    Set ``trainer.train_dataset`` to the samples kept in a round, then call ``train()``. The first
    call (or any call with ``is_first_time=True``) builds the optimizer and the schedule like
    ``Trainer.train``; later calls continue with the same model, optimizer and schedule, and start
    a fresh ``TrainerState`` so step counts and ``log_history`` are per round.

    ``schedule_rounds`` sets the schedule's horizon: it spans that many rounds of the first round's
    length (LMFlow's RAFT trainer uses 3). With a constant schedule it has no effect.

    The constructor takes LMFlow's arguments in LMFlow's order: ``tokenizer`` (stored as
    ``processing_class`` and readable as ``trainer.tokenizer``) comes sixth, then ``model_init``,
    ``compute_metrics``, ``callbacks``, ``optimizers`` and ``preprocess_logits_for_metrics``;
    ``Trainer``'s other arguments (``processing_class``, ``compute_loss_func``,
    ``optimizer_cls_and_kwargs``) are accepted by keyword.
    """

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        data_collator: Callable | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        tokenizer: Any = None,
        model_init: Callable[..., Any] | None = None,
        compute_metrics: Callable[..., dict] | None = None,
        callbacks: list | None = None,
        optimizers: tuple[Any, Any] = (None, None),
        preprocess_logits_for_metrics: Callable | None = None,
        *,
        schedule_rounds: int = 3,
        **kwargs: Any,
    ) -> None:
        if not isinstance(schedule_rounds, int) or isinstance(schedule_rounds, bool):
            raise TypeError(f"schedule_rounds must be an int, got {schedule_rounds!r}")
        if schedule_rounds < 1:
            raise ValueError(f"schedule_rounds must be >= 1, got {schedule_rounds}")
        processing_class = kwargs.pop("processing_class", None)
        if (
            tokenizer is not None
            and processing_class is not None
            and tokenizer is not processing_class
        ):
            raise ValueError(
                "RaftTrainer got both tokenizer= and processing_class=; pass only one of them "
                "(tokenizer is the name LMFlow uses)."
            )
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer if tokenizer is not None else processing_class,
            model_init=model_init,
            compute_metrics=compute_metrics,
            callbacks=callbacks,
            optimizers=optimizers,
            preprocess_logits_for_metrics=preprocess_logits_for_metrics,
            **kwargs,
        )
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
            return self._one_train(resume_from_checkpoint=resume_from_checkpoint)  # raises
        if first:
            self._raft_first_round = True
            output = super().train(
                resume_from_checkpoint=resume_from_checkpoint,
                trial=trial,
                ignore_keys_for_eval=ignore_keys_for_eval,
            )
            self._round_finished(output)
            return output
        return self._one_train(trial=trial, ignore_keys_for_eval=ignore_keys_for_eval)

    @property
    def tokenizer(self) -> Any:
        """The tokenizer given to the constructor (the same object as ``processing_class``)."""
        return self.processing_class

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        self.processing_class = value

    def _one_train(
        self,
        batch_size: int | None = None,
        args: Any = None,
        resume_from_checkpoint: Any = None,
        trial: Any = None,
        ignore_keys_for_eval: list[str] | None = None,
    ) -> TrainOutput:
        """One later round: train on the current ``train_dataset`` with the kept engine.

        The model, optimizer and schedule of the earlier rounds continue; a new ``TrainerState``
        starts. ``batch_size`` and ``args`` replace the trainer's for this and later rounds.
        ``train()`` calls this for every round after the first.
        """
        if self._raft_model is None:
            raise RuntimeError(
                "RaftTrainer._one_train() continues earlier rounds; run a first round with "
                "train(is_first_time=True) before it."
            )
        if resume_from_checkpoint not in (None, False):
            raise ValueError(
                "resume_from_checkpoint only applies to a first round (is_first_time=True); later "
                "rounds continue from the model and optimizer in memory."
            )
        if args is not None:
            self.args = args
        if batch_size is not None:
            self._train_batch_size = batch_size
        self._raft_first_round = False
        model_init, self.model_init = self.model_init, None
        try:
            output = super().train(
                resume_from_checkpoint=None, trial=trial, ignore_keys_for_eval=ignore_keys_for_eval
            )
        finally:
            self.model_init = model_init
        self._round_finished(output)
        return output

    def _round_finished(self, output: TrainOutput) -> None:
        self.rounds_completed += 1
        logger.info("RAFT round %d finished at step %d", self.rounds_completed, output.global_step)

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
