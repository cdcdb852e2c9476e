"""What a model card says about a run, gathered from the trainer object (duck-typed).

``summarize_run`` reads ``args`` field by field (so secrets such as ``hub_token`` never reach the
card), ``state.log_history``, the model (task, base model, tags) and the datasets.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

from .history import parse_log_history

logger = logging.getLogger(__name__)


TRAINER_TAG = "generated_from_trainer"

# Readable names of the task tags the Hub shows in a model index.
TASK_NAMES = {
    "fill-mask": "Masked Language Modeling",
    "image-classification": "Image Classification",
    "image-segmentation": "Image Segmentation",
    "multiple-choice": "Multiple Choice",
    "object-detection": "Object Detection",
    "question-answering": "Question Answering",
    "table-question-answering": "Table Question Answering",
    "text-classification": "Text Classification",
    "text-generation": "Causal Language Modeling",
    "token-classification": "Token Classification",
    "zero-shot-classification": "Zero Shot Classification",
    "automatic-speech-recognition": "Automatic Speech Recognition",
    "audio-classification": "Audio Classification",
}

# Metric names the Hub knows as metric types (lower case, words joined by "_").
METRIC_TYPES = frozenset(
    {
        "accuracy",
        "bleu",
        "f1",
        "matthews_correlation",
        "pearsonr",
        "precision",
        "recall",
        "rouge",
        "sacrebleu",
        "spearmanr",
        "wer",
    }
)

# The task of a transformers model, guessed from the ending of its class name.
_TASK_BY_CLASS_SUFFIX = (
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForMaskedLM", "fill-mask"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForTableQuestionAnswering", "table-question-answering"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMultipleChoice", "multiple-choice"),
    ("ForImageClassification", "image-classification"),
    ("ForSemanticSegmentation", "image-segmentation"),
    ("ForImageSegmentation", "image-segmentation"),
    ("ForObjectDetection", "object-detection"),
    ("ForAudioClassification", "audio-classification"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForSeq2SeqLM", "text2text-generation"),
)

# Dataset builders that read local files: their names say nothing about a Hub dataset.
_LOCAL_BUILDERS = frozenset(
    {"csv", "json", "pandas", "parquet", "text", "arrow", "generator", "imagefolder", "audiofolder"}
)

# (label, distribution) pairs listed under "Framework versions" when installed.
_FRAMEWORKS = (
    ("trainer-loop", "trainer-loop"),
    ("Transformers", "transformers"),
    ("Pytorch", "torch"),  # spelled as transformers writes it
    ("Datasets", "datasets"),
    ("Tokenizers", "tokenizers"),
)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if v is not None]


def _plain(value: Any) -> Any:
    """An enum member as its value; anything else unchanged."""
    return value.value if isinstance(value, Enum) else value


@dataclass
class RunSummary:
    """Everything the model card says about one training run.

    Built by :func:`summarize_run` from a trainer; rendered by :func:`render_model_card`.
    ``eval_results`` maps readable metric names to the last evaluation's values; ``eval_rows``
    holds one row per evaluation made during training.
    """

    model_name: str
    language: list[str] = field(default_factory=list)
    license: str | None = None
    tags: list[str] = field(default_factory=list)
    finetuned_from: str | None = None
    tasks: list[str] = field(default_factory=list)
    dataset: list[str] = field(default_factory=list)
    dataset_tags: list[str] = field(default_factory=list)
    dataset_args: list[str | None] = field(default_factory=list)
    dataset_metadata: list[dict[str, Any]] = field(default_factory=list)
    eval_results: dict[str, Any] | None = None
    eval_rows: list[dict[str, Any]] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    library_name: str | None = None
    framework_versions: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- gathering facts


def guess_task(model: Any) -> str | None:
    """The Hub task tag of a transformers-style model, from its class name; ``None`` if unknown."""
    name = type(model).__name__
    for suffix, task in _TASK_BY_CLASS_SUFFIX:
        if name.endswith(suffix):
            return task
    return None


def base_model_of(model: Any) -> str | None:
    """The Hub id the model was loaded from (``config._name_or_path``), unless it is a local folder."""
    config = getattr(model, "config", None)
    name = getattr(config, "_name_or_path", None)
    if not isinstance(name, str) or not name or os.path.isdir(name):
        return None
    return name


def _dataset_facts(dataset: Any) -> tuple[str, dict[str, Any], str | None] | None:
    """(builder tag, config/split metadata, config name) of a Hub ``datasets`` dataset, else None."""
    if dataset is None or not type(dataset).__module__.startswith("datasets"):
        return None
    builder = getattr(dataset, "builder_name", None)
    if not builder or builder in _LOCAL_BUILDERS:
        return None
    config = getattr(dataset, "config_name", None)
    split = getattr(dataset, "split", None)
    facts = {"config": config, "split": None if split is None else str(split)}
    return builder, facts, config


def license_of(repo_id: str, token: str | None = None) -> str | None:
    """The ``license:`` tag of a model on the Hub, or ``None`` (offline, unknown, or any failure)."""
    from huggingface_hub import constants

    from ._client import hub_api

    if constants.HF_HUB_OFFLINE:
        return None
    try:
        info = hub_api().model_info(repo_id, token=token, timeout=10)
    except Exception as exc:  # a card must not fail because the base model cannot be looked up
        logger.debug(
            "Could not read the license of %s from the Hub: %s", repo_id, type(exc).__name__
        )
        return None
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag[len("license:") :]
    return None


def training_hyperparameters(args: Any) -> dict[str, Any]:
    """The hyperparameters worth reporting, read field by field from ``args``."""
    world_size = int(getattr(args, "world_size", 1) or 1)
    accumulation = int(getattr(args, "gradient_accumulation_steps", 1) or 1)
    train_batch, eval_batch = args.train_batch_size, args.eval_batch_size
    hp: dict[str, Any] = {
        "learning_rate": args.learning_rate,
        "train_batch_size": train_batch,
        "eval_batch_size": eval_batch,
        "seed": args.seed,
    }
    mode = str(_plain(getattr(args, "parallel_mode", "not_parallel")))
    if mode not in ("not_parallel", "not_distributed"):
        if mode == "distributed":
            hp["distributed_type"] = "multi-process CPU" if args.use_cpu else "multi-GPU"
        else:
            hp["distributed_type"] = mode
    if world_size > 1:
        hp["num_devices"] = world_size
    if accumulation > 1:
        hp["gradient_accumulation_steps"] = accumulation
    if train_batch * world_size * accumulation != train_batch:
        hp["total_train_batch_size"] = train_batch * world_size * accumulation
    if eval_batch * world_size != eval_batch:
        hp["total_eval_batch_size"] = eval_batch * world_size

    if _plain(args.optim):
        # Worded as transformers writes it: the optimizer as str() prints it
        # ("OptimizerNames.ADAMW_TORCH_FUSED"), so cards from both libraries read alike.
        optim = str(args.optim)
        extra = args.optim_args or "No additional optimizer arguments"
        if "adam" in optim.lower():
            hp["optimizer"] = (
                f"Use {optim} with betas=({args.adam_beta1},{args.adam_beta2}) and "
                f"epsilon={args.adam_epsilon} and optimizer_args={extra}"
            )
        else:
            hp["optimizer"] = f"Use {optim} and the args are:\n{extra}"
    hp["lr_scheduler_type"] = _plain(args.lr_scheduler_type)
    if args.warmup_steps:
        hp["lr_scheduler_warmup_steps"] = args.warmup_steps
    if args.max_steps != -1:
        hp["training_steps"] = args.max_steps
    else:
        hp["num_epochs"] = args.num_train_epochs
    if args.fp16:
        hp["mixed_precision_training"] = "Native AMP"
    elif args.bf16:
        hp["mixed_precision_training"] = "Native AMP (bf16)"
    if args.label_smoothing_factor:
        hp["label_smoothing_factor"] = args.label_smoothing_factor
    return hp


def framework_versions(with_transformers: bool = True) -> dict[str, str]:
    """Installed versions of the libraries a reader needs to reproduce the run (no imports).

    Transformers is listed only when ``with_transformers`` (the model is one of its models).
    """
    versions: dict[str, str] = {}
    for label, distribution in _FRAMEWORKS:
        if distribution == "transformers" and not with_transformers:
            continue
        loaded = sys.modules.get(distribution) if distribution == "torch" else None
        if loaded is not None:  # the build's own version string ("2.5.1+cu124"), as transformers
            versions[label] = str(loaded.__version__)
            continue
        try:
            versions[label] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    versions["Python"] = platform.python_version()
    return versions


def summarize_run(
    trainer: Any,
    language: str | list[str] | None = None,
    license: str | None = None,
    tags: str | list[str] | None = None,
    model_name: str | None = None,
    finetuned_from: str | None = None,
    tasks: str | list[str] | None = None,
    dataset_tags: str | list[str] | None = None,
    dataset: str | list[str] | None = None,
    dataset_args: str | list[str] | None = None,
    dataset_metadata: dict[str, Any] | list[dict[str, Any]] | None = None,
) -> RunSummary:
    """Gather what the card says about the run; explicit arguments win over what is inferred.

    Inferred when not given: dataset tag/config/split from a Hub ``datasets`` dataset, the base
    model from ``model.config._name_or_path`` (and its license from the Hub), the task from the
    model's class name, the model name from ``output_dir``.
    """
    args = trainer.args
    model = getattr(trainer, "model", None)

    one_dataset = getattr(trainer, "eval_dataset", None)
    if one_dataset is None:
        one_dataset = getattr(trainer, "train_dataset", None)
    facts = _dataset_facts(one_dataset)
    if facts is not None:
        builder, meta, config = facts
        if dataset_tags is None:
            dataset_tags = [builder]
        if dataset_args is None:
            dataset_args = [config]
        if dataset_metadata is None:
            dataset_metadata = [meta]
    if dataset is None and dataset_tags is not None:
        dataset = dataset_tags

    if finetuned_from is None and model is not None:
        finetuned_from = base_model_of(model)
    if not finetuned_from:
        finetuned_from = None
    if license is None and finetuned_from is not None:
        license = license_of(finetuned_from, token=getattr(args, "hub_token", None))

    task_list = _as_list(tasks)
    if tasks is None and model is not None:
        task_list = _as_list(guess_task(model))

    if model_name is None:
        model_name = Path(args.output_dir).name if args.output_dir else ""
    if not model_name:
        model_name = finetuned_from or "model"

    tag_list = list(_as_list(tags))
    if TRAINER_TAG not in tag_list:
        tag_list.append(TRAINER_TAG)

    if isinstance(dataset_metadata, dict):
        dataset_metadata = [dataset_metadata]
    history = parse_log_history(getattr(trainer.state, "log_history", []) or [])
    is_transformers_model = model is not None and type(model).__module__.startswith("transformers")

    return RunSummary(
        model_name=model_name,
        language=_as_list(language),
        license=license,
        tags=tag_list,
        finetuned_from=finetuned_from,
        tasks=task_list,
        dataset=_as_list(dataset),
        dataset_tags=_as_list(dataset_tags),
        dataset_args=[dataset_args] if isinstance(dataset_args, str) else list(dataset_args or []),
        dataset_metadata=list(dataset_metadata or []),
        eval_results=history.final,
        eval_rows=history.rows,
        hyperparameters=training_hyperparameters(args),
        library_name="transformers" if is_transformers_model else None,
        framework_versions=framework_versions(with_transformers=is_transformers_model),
    )


# --------------------------------------------------------------------------- rendering
