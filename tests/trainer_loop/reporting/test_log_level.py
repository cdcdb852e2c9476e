"""log_level / log_level_replica set the project's loggers; INFO lines show as in transformers."""

from __future__ import annotations

import io
import logging
import re
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_loop import Trainer  # noqa: E402
from trainer_loop.reporting.log_setup import PACKAGE_LOGGERS, configure_logging  # noqa: E402

SETTINGS = dict(
    per_device_train_batch_size=4,
    max_steps=4,
    save_steps=2,
    save_strategy="steps",
    eval_strategy="steps",
    eval_steps=4,
    report_to="none",
    use_cpu=True,
    disable_tqdm=True,
)


@pytest.fixture
def restore_loggers():
    """Put the package loggers' levels and handlers back after the test."""
    saved = {
        n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers))
        for n in PACKAGE_LOGGERS
    }
    root_handlers = list(logging.getLogger().handlers)
    yield
    for name, (level, handlers) in saved.items():
        log = logging.getLogger(name)
        log.setLevel(level)
        log.handlers[:] = handlers
    logging.getLogger().handlers[:] = root_handlers


def _without_root_handlers():
    # A plain script: pytest's log capture (and libraries imported by other tests) leave
    # handlers on the root and on the package loggers; a fresh interpreter has none.
    logging.getLogger().handlers[:] = []
    for name in PACKAGE_LOGGERS:
        logging.getLogger(name).handlers[:] = []


def _header(text: str) -> list[str]:
    """The indented lines under the training banner."""
    lines = text.splitlines()
    stripped = [line.strip() for line in lines]
    assert "***** Running training *****" in stripped, text[:3000]
    out = []
    for line in lines[stripped.index("***** Running training *****") + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def test_info_level_prints_the_run_header_like_transformers(tmp_path, capsys, restore_loggers):
    transformers = pytest.importorskip("transformers")
    from trainer_args import TrainingArguments

    _without_root_handlers()
    transformers.logging.set_verbosity_warning()
    # transformers' own handler keeps the stderr of the test that first used it: listen directly.
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    logging.getLogger("transformers").addHandler(listener)
    theirs = transformers.Trainer(
        model=RegressionModel(),
        args=transformers.TrainingArguments(
            output_dir=str(tmp_path / "theirs"), log_level="info", **SETTINGS
        ),
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=2),
    )
    try:
        theirs.train()
    finally:
        logging.getLogger("transformers").removeHandler(listener)
        transformers.logging.set_verbosity_warning()
    reference = stream.getvalue()
    capsys.readouterr()

    _without_root_handlers()
    ours = Trainer(
        model=RegressionModel(),
        args=TrainingArguments(output_dir=str(tmp_path / "ours"), log_level="info", **SETTINGS),
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=2),
    )
    ours.train()
    mine = capsys.readouterr().err

    assert _header(mine) == _header(reference)
    assert len(_header(mine)) >= 7 and _header(mine)[0] == "Num examples = 16"
    for text in (mine, reference):
        assert "***** Running Evaluation *****" in text
        assert "Num examples = 8" in text and "Batch size = 8" in text
        saves = re.findall(r"Saving model checkpoint to (\S+)", text)
        assert [s.rsplit("/", 1)[-1] for s in saves] == ["checkpoint-2", "checkpoint-4"]


def test_default_passive_level_prints_nothing(tmp_path, capsys, restore_loggers):
    from trainer_args import TrainingArguments

    _without_root_handlers()
    for name in PACKAGE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    Trainer(
        model=RegressionModel(),
        args=TrainingArguments(output_dir=str(tmp_path / "out"), **SETTINGS),
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=2),
    ).train()
    assert "Running training" not in capsys.readouterr().err
    assert logging.getLogger("trainer_loop").level == logging.NOTSET


def test_replica_processes_use_log_level_replica(restore_loggers):
    levels = {"debug": 10, "info": 20, "warning": 30, "error": 40}
    main = SimpleNamespace(
        should_log=True,
        log_level="error",
        log_level_replica="debug",
        get_process_log_level=lambda: levels["error"],
    )
    replica = SimpleNamespace(
        should_log=False,
        log_level="error",
        log_level_replica="debug",
        get_process_log_level=lambda: levels["debug"],
    )
    assert configure_logging(main) == logging.ERROR
    assert all(logging.getLogger(n).level == logging.ERROR for n in PACKAGE_LOGGERS)
    assert configure_logging(replica) == logging.DEBUG
    assert logging.getLogger("trainer_data").level == logging.DEBUG
    passive = SimpleNamespace(should_log=False, log_level="info", log_level_replica="passive")
    assert configure_logging(passive) is None
    assert logging.getLogger("trainer_data").level == logging.DEBUG


def test_log_level_replica_from_real_arguments(tmp_path, restore_loggers):
    from trainer_args import TrainingArguments

    args = TrainingArguments(
        output_dir=str(tmp_path), log_level="warning", log_level_replica="error", use_cpu=True
    )
    assert args.should_log  # a single process logs as the main process
    assert configure_logging(args) == logging.WARNING
