"""TrainingArguments for a quiet test run on the CPU."""

from __future__ import annotations

from typing import Any


def cpu_args(tmp_path: Any, **overrides: Any):
    """Arguments writing to ``tmp_path/out``: CPU, batch 4, no reports, no progress bars, no saves.

    ``overrides`` replace or add fields.
    """
    from trainer_args import TrainingArguments

    settings = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
    )
    settings.update(overrides)
    return TrainingArguments(**settings)
