"""The Hub side of ``Trainer``: the repository, the model card and pushes (``trainer-hub``).

``trainer_hub`` decides and uploads, taking values; this mixin keeps what it returns (the
repository id, the pushes in progress) and fires ``on_push_begin`` before every push.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..options import option_name

logger = logging.getLogger(__name__)


class HubMixin:
    """``init_hf_repo``, ``create_model_card``, ``push_to_hub`` and the checkpoint pushes."""

    def _init_hub(self) -> None:
        """No repository and no push yet (called once by ``Trainer.__init__``)."""
        self.hub_model_id: str | None = None
        self.push_in_progress: Any = None  # the Hub uploads still running in the background

    def _hub(self):
        try:
            import trainer_hub
        except ImportError as exc:
            raise ImportError(
                'Pushing to the Hub needs the trainer-hub package: pip install "trainer-loop[hub]".'
            ) from exc
        return trainer_hub

    def init_hf_repo(self, token: str | None = None) -> None:
        """Create (or reuse) the Hub repository named by ``hub_model_id`` or ``output_dir``."""
        if not self.is_world_process_zero():  # only the process that pushes talks to the Hub
            return
        self.hub_model_id = self._hub().init_repo(self.args, token=token)

    def create_model_card(
        self,
        language: str | None = None,
        license: str | None = None,
        tags: str | list[str] | None = None,
        model_name: str | None = None,
        finetuned_from: str | None = None,
        tasks: str | list[str] | None = None,
        dataset_tags: str | list[str] | None = None,
        dataset: str | list[str] | None = None,
        dataset_args: str | list[str] | None = None,
    ) -> None:
        """Write a ``README.md`` model card into ``output_dir`` describing this training run."""
        if not self.is_world_process_zero():
            return
        given = {
            "language": language,
            "license": license,
            "tags": tags,
            "model_name": model_name,
            "finetuned_from": finetuned_from,
            "tasks": tasks,
            "dataset_tags": dataset_tags,
            "dataset": dataset,
            "dataset_args": dataset_args,
        }
        self._hub().write_model_card(self, **{k: v for k, v in given.items() if v is not None})

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        **kwargs: Any,
    ):
        """Save the model and upload ``output_dir`` to the Hub; returns the commit information."""
        hub = self._hub()
        if self.hub_model_id is None:
            self.init_hf_repo(token=token)
        self.save_model(_internal_call=True)
        if not self.is_world_process_zero():
            return None
        self.control = self.callback_handler.on_push_begin(self.args, self.state, self.control)
        hub.wait_for(self.push_in_progress)  # this commit lands after the checkpoint pushes
        result = hub.push_folder(
            self,
            commit_message=commit_message,
            blocking=blocking,
            token=token,
            revision=revision,
            **kwargs,
        )
        if not blocking:
            self.push_in_progress = hub.track(self.push_in_progress, [result])
        return result

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        """Push a checkpoint just written, as ``hub_strategy`` asks (main process only)."""
        if not self.is_world_process_zero():
            return
        hub = self._hub()
        skipped = hub.checkpoint_push_skipped(self.args, self.push_in_progress)
        if skipped is not None:
            if option_name(self.args.hub_strategy) != "end":
                logger.info("Not pushing %s: %s.", os.path.basename(checkpoint_folder), skipped)
            return
        if self.hub_model_id is None:
            self.init_hf_repo()
        self.control = self.callback_handler.on_push_begin(self.args, self.state, self.control)
        jobs = hub.push_checkpoint(
            self.args,
            self.hub_model_id,
            checkpoint_folder,
            self.state.global_step,
            self.state.epoch,
            self.processing_class,
        )
        self.push_in_progress = hub.track(self.push_in_progress, jobs)

    def _finish_current_push(self) -> None:
        """Wait for the background pushes of this run (end of ``train()``)."""
        if self.args.push_to_hub and self.is_world_process_zero():
            self._hub().wait_for(self.push_in_progress)
