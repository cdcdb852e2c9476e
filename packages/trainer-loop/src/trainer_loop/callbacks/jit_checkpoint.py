"""Checkpoint on SIGTERM (``enable_jit_checkpoint=True``): save, stop and let ``train()`` return.

Schedulers of preemptible machines (Kubernetes, SLURM, spot instances) send SIGTERM and, after a
grace period, SIGKILL. With ``enable_jit_checkpoint=True`` the trainer answers SIGTERM by writing a
regular ``checkpoint-<global_step>`` at the end of the optimizer step in progress and leaving the
training loop, so ``train()`` returns normally and the script can exit with status 0. Resuming
from that checkpoint (``resume_from_checkpoint=True``) continues exactly as if the run had not been
interrupted, because the checkpoint is taken at a step boundary like any ``save_steps`` one.

As in transformers, the request takes effect :data:`KILL_WAIT_S` seconds after the signal: a
SIGKILL that follows SIGTERM at once makes saving pointless, and a checkpoint half written when the
process is killed is never left behind anyway (checkpoints are written to a temporary folder and
renamed into place).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from .base import TrainerCallback

__all__ = ["KILL_WAIT_S", "JITCheckpointCallback"]

logger = logging.getLogger(__name__)

KILL_WAIT_S: float = 3.0
"""Seconds between SIGTERM and the checkpoint request (transformers waits 3 s as well)."""


class JITCheckpointCallback(TrainerCallback):
    """Turn SIGTERM into "save a checkpoint at the end of this step and stop training".

    Added by the Trainer when ``args.enable_jit_checkpoint`` is true. The SIGTERM handler is
    installed when training begins and the previous handler is put back when it ends, so outside
    ``train()`` SIGTERM behaves as the program set it up.
    """

    def __init__(self, kill_wait: float | None = None, trainer: Any = None) -> None:
        self.kill_wait = KILL_WAIT_S if kill_wait is None else float(kill_wait)
        self.is_checkpoint_requested = False
        self.trainer: Any = trainer  # the Trainer it serves (also set by set_trainer())
        self._signal_seen = False
        self._previous_handler: Any = None
        self._installed = False

    def set_trainer(self, trainer: Any) -> None:
        """Attach to ``trainer`` (the Trainer calls this when it adds the callback)."""
        self.trainer = trainer

    @property
    def jit_manager(self) -> JITCheckpointCallback | None:
        """What answers SIGTERM for the attached trainer: this callback (``None`` until attached).

        transformers keeps that in a separate ``CheckpointManager``; code that checks the attribute
        finds the object holding ``is_checkpoint_requested`` and ``kill_wait`` here too.
        """
        return self if self.trainer is not None else None

    # -- the signal ---------------------------------------------------------------------------

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self._signal_seen:
            return
        self._signal_seen = True
        logger.info(
            "SIGTERM received: a checkpoint will be written at the end of the current step "
            "(in %.1f s at the earliest), then training stops.",
            self.kill_wait,
        )
        if self.kill_wait <= 0:
            self._request()
            return
        timer = threading.Timer(self.kill_wait, self._request)
        timer.daemon = True
        timer.start()

    def _request(self) -> None:
        self.is_checkpoint_requested = True

    def _install(self) -> None:
        if self._installed:
            return
        if threading.current_thread() is not threading.main_thread():
            logger.warning(
                "enable_jit_checkpoint=True has no effect: signal handlers can only be installed "
                "from the main thread, and train() runs in another one."
            )
            return
        self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True
        logger.info("JIT checkpointing enabled: SIGTERM writes a checkpoint and stops training.")

    def _restore(self) -> None:
        if not self._installed:
            return
        signal.signal(signal.SIGTERM, self._previous_handler or signal.SIG_DFL)
        self._installed = False

    # -- training events ----------------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        self.is_checkpoint_requested = False
        self._signal_seen = False
        self._install()

    def _save_and_stop(self, state, control) -> None:
        if not self.is_checkpoint_requested:
            return
        self.is_checkpoint_requested = False
        logger.info("Saving the JIT checkpoint at step %d and stopping.", state.global_step)
        control.should_save = True
        control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        self._save_and_stop(state, control)

    def on_epoch_end(self, args, state, control, **kwargs):
        self._save_and_stop(state, control)

    def on_train_end(self, args, state, control, **kwargs):
        self._restore()
