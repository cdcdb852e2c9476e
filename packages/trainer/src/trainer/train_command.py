"""``trainer train CONFIG``: build tokenizer, data, model and Trainer from a config, then train,
evaluate and save. The same command runs under ``torchrun`` and ``accelerate launch``."""

from __future__ import annotations

import json
import os
from typing import Any

from trainer.config import RunConfig, load_config, training_arguments

# Set by launchers that start a job again after a failure: torchrun / torch.distributed.elastic
# (TORCHELASTIC_RESTART_COUNT) and SLURM's requeue (SLURM_RESTART_COUNT).
RESTART_COUNT_VARIABLES = ("TORCHELASTIC_RESTART_COUNT", "SLURM_RESTART_COUNT")


def restarted_by_launcher(environ: Any = None) -> str | None:
    """The variable saying the launcher restarted this job (a count above 0), or None."""
    environ = os.environ if environ is None else environ
    for name in RESTART_COUNT_VARIABLES:
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return name
    return None


def checkpoint_to_resume(resume: bool | str | None, output_dir: str) -> str | None:
    """The checkpoint `trainer train` resumes from: `--resume` (True, "auto" or a path), or "auto"
    when a launcher restarted the job (:func:`restarted_by_launcher`); None for a fresh start."""
    if resume is None and restarted_by_launcher() is not None:
        resume = "auto"
    if resume == "auto":  # the newest whole checkpoint when there is one, else a fresh start
        from trainer_loop.checkpointing.folders import list_checkpoints, resolve_resume_checkpoint

        if not (os.path.isdir(output_dir) and list_checkpoints(output_dir)):
            return None
        return resolve_resume_checkpoint(True, output_dir)
    if resume is None or resume is False:
        return None
    if resume is True:
        from trainer_loop import get_last_checkpoint

        found = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
        if found is None:
            raise FileNotFoundError(
                f"--resume: no checkpoint-N folder in output_dir={output_dir!r}; pass one with "
                "--resume PATH"
            )
        return found
    if not os.path.isdir(resume):
        raise FileNotFoundError(f"--resume {resume!r}: no such checkpoint folder")
    return resume


def build_trainer(config: RunConfig, args: Any, checkpoint: str | None = None) -> tuple[Any, Any]:
    """The Trainer (``Seq2SeqTrainer`` for seq2seq) and the prepared splits for ``config``.

    With several processes the process group is set up first, so that rank 0 reads the files
    (and fills the ``datasets`` cache) before the others and trains the tokenizer for all.
    """
    from trainer.data_loading import load_splits
    from trainer.local_tokenizer import build_tokenizer
    from trainer.model_loading import build_model
    from trainer.tasks import check_columns, prepare, training_texts

    if args.world_size > 1:
        args.distributed_state  # noqa: B018 (starts the process group)
    with args.main_process_first(local=False, desc="reading the data files"):
        splits = load_splits(config)
    if "validation" not in splits and args.eval_strategy != "no":
        raise ValueError(
            f"training.eval_strategy={args.eval_strategy.value!r} needs evaluation data: set "
            "data.validation (a file) or data.validation_split (a share of the training rows)"
        )
    check_columns(config, splits)
    tokenizer = build_tokenizer(config, training_texts(config, splits["train"]), checkpoint)
    prepared = prepare(config, splits, tokenizer)
    model = build_model(config, tokenizer, prepared.labels)
    if config.seq2seq:
        from trainer_data import DataCollatorForSeq2Seq
        from trainer_seq2seq import Seq2SeqTrainer as trainer_class

        collator = DataCollatorForSeq2Seq(tokenizer, model=model)
    else:
        from trainer_loop import Trainer as trainer_class

        collator = prepared.collator
    trainer = trainer_class(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=prepared.splits["train"],
        eval_dataset=prepared.splits.get("validation"),
        processing_class=tokenizer,
        compute_metrics=prepared.compute_metrics,
        preprocess_logits_for_metrics=prepared.preprocess_logits_for_metrics,
    )
    return trainer, prepared


def run(
    config_path: str, resume: bool | str | None = None, overrides: list[str] | None = None
) -> dict[str, Any]:
    """Train as ``config_path`` says and return the final metrics (train, eval, test)."""
    config = load_config(config_path, overrides or [])
    args = training_arguments(config)
    checkpoint = checkpoint_to_resume(resume, args.output_dir)
    from trainer_dist import set_seed

    set_seed(args.seed)
    trainer, prepared = build_trainer(config, args, checkpoint)
    result = trainer.train(resume_from_checkpoint=checkpoint)
    metrics = dict(result.metrics)
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if "validation" in prepared.splits:
        evaluation = trainer.evaluate()
        trainer.log_metrics("eval", evaluation)
        trainer.save_metrics("eval", evaluation)
        metrics.update(evaluation)
    if "test" in prepared.splits:
        test = trainer.predict(prepared.splits["test"], metric_key_prefix="test").metrics
        trainer.log_metrics("test", test)
        trainer.save_metrics("test", test)
        metrics.update(test)
    if trainer.is_world_process_zero():
        _summary(config, args, trainer)
    # The command owns its processes: tear the process group down before the interpreter exits,
    # or gloo's threads may still be running at exit and abort the process (SIGABRT).
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    return metrics


def _summary(config: RunConfig, args: Any, trainer: Any) -> None:
    checkpoints = sorted(
        (d for d in os.listdir(args.output_dir) if d.startswith("checkpoint-")),
        key=lambda d: int(d.split("-")[-1]) if d.split("-")[-1].isdigit() else -1,
    )
    lines = [
        f"task {config.task}: {trainer.state.global_step} steps",
        f"model and tokenizer: {os.path.abspath(args.output_dir)}",
        f"checkpoints: {', '.join(checkpoints) or 'none'}",
        f"metrics: {os.path.join(os.path.abspath(args.output_dir), 'all_results.json')}",
        f"curves: trainer plot {args.output_dir}",
    ]
    print("\n" + "\n".join(lines))


def load_metrics(output_dir: str) -> dict[str, Any]:
    """``all_results.json`` of a finished run."""
    with open(os.path.join(output_dir, "all_results.json")) as f:
        return json.load(f)
