"""Drop-in replacement for the transformers Trainer API: ``from trainer import Trainer, TrainingArguments``.

Names are resolved on first use, so ``import trainer`` stays cheap and loads torch only when a
name that needs it is touched.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # arguments
    "TrainingArguments": "trainer_args",
    "HfArgumentParser": "trainer_args",
    "IntervalStrategy": "trainer_args",
    "SaveStrategy": "trainer_args",
    "HubStrategy": "trainer_args",
    "SchedulerType": "trainer_args",
    "OptimizerNames": "trainer_args",
    "FSDPOption": "trainer_args",
    "DebugOption": "trainer_args",
    "ParallelMode": "trainer_args",
    # the loop, callbacks and results
    "Trainer": "trainer_loop",
    "RaftTrainer": "trainer_loop",
    "TrainerCallback": "trainer_loop",
    "TrainerState": "trainer_loop",
    "TrainerControl": "trainer_loop",
    "CallbackHandler": "trainer_loop",
    "DefaultFlowCallback": "trainer_loop",
    "EarlyStoppingCallback": "trainer_loop",
    "StopOnNonFiniteCallback": "trainer_loop",
    "BackgroundCheckpointing": "trainer_loop",
    "PrinterCallback": "trainer_loop",
    "ProgressCallback": "trainer_loop",
    "TensorBoardCallback": "trainer_loop",
    "WandbCallback": "trainer_loop",
    "MLflowCallback": "trainer_loop",
    "TrackioCallback": "trainer_loop",
    "CometCallback": "trainer_loop",
    "DVCLiveCallback": "trainer_loop",
    "ClearMLCallback": "trainer_loop",
    "CodeCarbonCallback": "trainer_loop",
    "SwanLabCallback": "trainer_loop",
    "NeptuneCallback": "trainer_loop",
    "AzureMLCallback": "trainer_loop",
    "DagsHubCallback": "trainer_loop",
    "FlyteCallback": "trainer_loop",
    "ExportableState": "trainer_loop",
    "EvalPrediction": "trainer_loop",
    "EvalLoopOutput": "trainer_loop",
    "PredictionOutput": "trainer_loop",
    "TrainOutput": "trainer_loop",
    "BestRun": "trainer_loop",
    "HPSearchBackend": "trainer_loop",
    "get_last_checkpoint": "trainer_loop",
    "LabelSmoother": "trainer_loop",
    "PREFIX_CHECKPOINT_DIR": "trainer_loop",
    # sequence-to-sequence
    "Seq2SeqTrainer": "trainer_seq2seq",
    "Seq2SeqTrainingArguments": "trainer_seq2seq",
    # data
    "default_data_collator": "trainer_data",
    "DefaultDataCollator": "trainer_data",
    "DataCollatorWithPadding": "trainer_data",
    "DataCollatorForSeq2Seq": "trainer_data",
    "DataCollatorForLanguageModeling": "trainer_data",
    "DataCollator": "trainer_data",
    "DataCollatorForMultipleChoice": "trainer_data",
    "DataCollatorForPermutationLanguageModeling": "trainer_data",
    "DataCollatorForSOP": "trainer_data",
    "DataCollatorForTokenClassification": "trainer_data",
    "DataCollatorForWholeWordMask": "trainer_data",
    "DataCollatorWithFlattening": "trainer_data",
    "IterableDatasetShard": "trainer_data",
    # optimisation
    "Adafactor": "trainer_optim",
    "AdafactorSchedule": "trainer_optim",
    "get_scheduler": "trainer_optim",
    "get_constant_schedule": "trainer_optim",
    "get_constant_schedule_with_warmup": "trainer_optim",
    "get_cosine_schedule_with_warmup": "trainer_optim",
    "get_cosine_with_hard_restarts_schedule_with_warmup": "trainer_optim",
    "get_cosine_with_min_lr_schedule_with_warmup": "trainer_optim",
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate": "trainer_optim",
    "get_inverse_sqrt_schedule": "trainer_optim",
    "get_linear_schedule_with_warmup": "trainer_optim",
    "get_polynomial_decay_schedule_with_warmup": "trainer_optim",
    "get_reduce_on_plateau_schedule": "trainer_optim",
    "get_wsd_schedule": "trainer_optim",
    # running libraries built on transformers' classes on this loop
    "install_as_transformers": "trainer.compat",
    "restore_transformers": "trainer.compat",
    # runtime
    "set_seed": "trainer_dist",
    "torch_distributed_zero_first": "trainer_dist",
    "enable_full_determinism": "trainer_dist",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
