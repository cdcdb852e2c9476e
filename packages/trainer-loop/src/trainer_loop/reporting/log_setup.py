"""``log_level`` / ``log_level_replica``: the level of the project's loggers in this process.

transformers sets its library logger to ``args.get_process_log_level()`` when a Trainer is built
and prints through a stderr handler of its own, so ``--log_level info`` shows the run header
(``***** Running training *****``), ``Saving model checkpoint to ...`` and the other INFO lines
without any ``logging.basicConfig``. The same happens here for the loggers of every package of the
project. ``"passive"`` (the default for the main process) leaves the levels as the application
set them. After ``trainer.install_as_transformers()`` the project's records go out through
transformers' loggers, so the level is set on transformers' library logger instead, as
transformers' own ``Trainer`` does.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["PACKAGE_LOGGERS", "configure_logging"]

PACKAGE_LOGGERS = (
    "trainer",
    "trainer_args",
    "trainer_data",
    "trainer_dist",
    "trainer_hub",
    "trainer_loop",
    "trainer_optim",
    "trainer_seq2seq",
)
"""The top-level logger of every package; modules log to children of these."""


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (test capture included)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _ensure_handler(log: logging.Logger) -> None:
    # Only when nothing would print the record: neither this logger nor the root has a handler.
    if log.handlers or logging.getLogger().handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)


def configure_logging(args: Any) -> int | None:
    """Set the project's loggers to this process's level from ``args``; returns the level set.

    The main process (``args.should_log``) uses ``log_level``, the others ``log_level_replica``;
    ``"passive"`` changes nothing and returns ``None``. Where the application configured no
    logging at all, a stderr handler is added so the records show, as transformers does.
    """
    name = args.log_level if args.should_log else args.log_level_replica
    if str(name) == "passive":
        return None
    level = args.get_process_log_level()
    for logger_name in PACKAGE_LOGGERS:
        log = logging.getLogger(logger_name)
        routed = _routed_to(log)
        if routed is not None:  # installed as transformers: its verbosity decides, as there
            logging.getLogger(routed).setLevel(level)
            continue
        log.setLevel(level)
        _ensure_handler(log)
    return level


def _routed_to(log: logging.Logger) -> str | None:
    """The logger this one's records are re-logged by (``trainer.install_as_transformers()``)."""
    for handler in log.handlers:
        target = getattr(handler, "routes_to", None)
        if target is not None:
            return target
    return None
