"""The 109 fields of :class:`~trainer_args.TrainingArguments`, in the order transformers declares them.

This module holds data only: names, types, defaults and the help text shown by ``--help``.
Normalisation and validation live in :mod:`trainer_args.validation`.
"""

import dataclasses
from typing import Any

from .enums import (
    DebugOption,
    FSDPOption,
    HubStrategy,
    IntervalStrategy,
    OptimizerNames,
    SaveStrategy,
    SchedulerType,
)

LOG_LEVELS = {
    "detail": 5,
    "debug": 10,
    "info": 20,
    "warning": 30,
    "error": 40,
    "critical": 50,
    "passive": -1,
}
SAMPLING_STRATEGIES = ["random", "sequential", "group_by_length"]
DDP_BACKENDS = ["nccl", "gloo", "mpi", "xccl", "hccl", "cncl", "mccl"]


def _f(default: Any = None, help: str = "", *, factory: Any = None, **meta: Any) -> Any:
    """Declare a field with its help text (and optional ``choices``) in the metadata."""
    metadata = {"help": help, **meta}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(repr=False)
class TrainingArgumentsFields:
    """Field declarations only; see :class:`trainer_args.TrainingArguments`."""

    # Output
    output_dir: str | None = _f(
        None, "Folder for checkpoints and predictions (default 'trainer_output')."
    )
    # Training length and batch size
    per_device_train_batch_size: int = _f(8, "Training batch size on each device.")
    num_train_epochs: float = _f(
        3.0, "Epochs to train for; a fraction trains part of the last epoch."
    )
    max_steps: int = _f(
        -1, "When positive, total optimizer steps to run; overrides num_train_epochs."
    )
    # Optimizer and schedule
    learning_rate: float = _f(5e-5, "Peak learning rate of the optimizer.")
    lr_scheduler_type: SchedulerType | str = _f("linear", "Learning-rate schedule name.")
    lr_scheduler_kwargs: dict | str | None = _f(
        None, "Extra keyword arguments for the schedule (dict or JSON)."
    )
    warmup_steps: float = _f(0, "Warmup steps; a value in [0, 1) is a fraction of the total steps.")
    optim: OptimizerNames | str = _f("adamw_torch_fused", "Optimizer name.")
    optim_args: str | None = _f(None, "Extra optimizer options as 'key=value,key2=value2'.")
    weight_decay: float = _f(0.0, "Weight decay applied to all weights except biases and norms.")
    adam_beta1: float = _f(0.9, "Beta1 of Adam-style optimizers.")
    adam_beta2: float = _f(0.999, "Beta2 of Adam-style optimizers.")
    adam_epsilon: float = _f(1e-8, "Epsilon of Adam-style optimizers.")
    optim_target_modules: None | str | list[str] = _f(
        None, "Modules targeted by GaLore/APOLLO optimizers."
    )
    gradient_accumulation_steps: int = _f(
        1, "Micro-batches accumulated before each optimizer step."
    )
    average_tokens_across_devices: bool = _f(
        True, "Average the token count across devices for the loss."
    )
    max_grad_norm: float = _f(1.0, "Clip gradients to this norm (0 disables clipping).")
    label_smoothing_factor: float = _f(0.0, "Label smoothing applied to the loss (0 disables it).")
    # Precision and speed
    bf16: bool = _f(False, "Train with bfloat16 mixed precision.")
    fp16: bool = _f(False, "Train with float16 mixed precision.")
    bf16_full_eval: bool = _f(False, "Run evaluation fully in bfloat16.")
    fp16_full_eval: bool = _f(False, "Run evaluation fully in float16.")
    tf32: bool | None = _f(None, "Enable TF32 matmuls on Ampere or newer GPUs.")
    gradient_checkpointing: bool = _f(False, "Recompute activations in backward to save memory.")
    gradient_checkpointing_kwargs: dict[str, Any] | str | None = _f(
        None, "Keyword arguments for gradient checkpointing (dict or JSON)."
    )
    torch_compile: bool = _f(False, "Compile the model with torch.compile.")
    torch_compile_backend: str | None = _f(None, "torch.compile backend (implies torch_compile).")
    torch_compile_mode: str | None = _f(None, "torch.compile mode (implies torch_compile).")
    use_liger_kernel: bool = _f(False, "Patch the model with Liger kernels.")
    liger_kernel_config: dict[str, bool] | None = _f(None, "Which Liger kernels to apply.")
    use_cache: bool = _f(False, "Keep the model's key/value cache enabled during training.")
    neftune_noise_alpha: float | None = _f(None, "NEFTune embedding-noise strength.")
    torch_empty_cache_steps: int | None = _f(None, "Empty the accelerator cache every N steps.")
    auto_find_batch_size: bool = _f(
        False, "Halve the batch size on out-of-memory errors and retry."
    )
    # Logging
    logging_strategy: IntervalStrategy | str = _f("steps", "When to log: 'no', 'steps' or 'epoch'.")
    logging_steps: float = _f(
        500, "Steps between logs; a value below 1 is a fraction of all steps."
    )
    logging_first_step: bool = _f(False, "Also log the first optimizer step.")
    log_on_each_node: bool = _f(True, "Log on the main process of every node, not only node 0.")
    logging_nan_inf_filter: bool = _f(True, "Leave nan/inf losses out of the logged average.")
    include_num_input_tokens_seen: str | bool = _f(
        "no", "Count input tokens: 'no', 'all' or 'non_padding' (True means 'all')."
    )
    log_level: str = _f("passive", "Log level of the main process.", choices=list(LOG_LEVELS))
    log_level_replica: str = _f("warning", "Log level of replicas.", choices=list(LOG_LEVELS))
    disable_tqdm: bool | None = _f(None, "Hide progress bars.")
    report_to: None | str | list[str] = _f("none", "Integrations to report to; 'all' or 'none'.")
    run_name: str | None = _f(None, "Name of the run for the reporting integrations.")
    project: str = _f("huggingface", "Project name for the reporting integrations.")
    trackio_space_id: str | None = _f("trackio", "Hugging Face Space used by trackio.")
    # Evaluation
    eval_strategy: IntervalStrategy | str = _f("no", "When to evaluate: 'no', 'steps' or 'epoch'.")
    eval_steps: float | None = _f(None, "Steps between evaluations (defaults to logging_steps).")
    eval_delay: float = _f(0, "Epochs or steps to wait before the first evaluation.")
    per_device_eval_batch_size: int = _f(8, "Evaluation batch size on each device.")
    prediction_loss_only: bool = _f(False, "Only return the loss when evaluating or predicting.")
    eval_on_start: bool = _f(False, "Evaluate once before training starts.")
    eval_do_concat_batches: bool = _f(True, "Concatenate predictions across evaluation batches.")
    eval_use_gather_object: bool = _f(False, "Gather nested objects from all processes.")
    eval_accumulation_steps: int | None = _f(
        None, "Move predictions to CPU every N evaluation steps."
    )
    include_for_metrics: list[str] = _f(
        help="Extra inputs passed to compute_metrics: 'inputs' and/or 'loss'.", factory=list
    )
    batch_eval_metrics: bool = _f(False, "Call compute_metrics per batch and aggregate.")
    # Checkpoints
    save_only_model: bool = _f(False, "Save only the model, not optimizer/scheduler/RNG state.")
    save_strategy: SaveStrategy | str = _f(
        "steps", "When to save: 'no', 'steps', 'epoch' or 'best'."
    )
    save_steps: float = _f(500, "Steps between saves; a value below 1 is a fraction of all steps.")
    save_on_each_node: bool = _f(False, "Save on every node, not only the main one.")
    save_total_limit: int | None = _f(None, "Keep at most this many checkpoints.")
    enable_jit_checkpoint: bool = _f(False, "Write a checkpoint when the job receives SIGTERM.")
    # Hub
    push_to_hub: bool = _f(False, "Push the model to the Hugging Face Hub.")
    hub_token: str | None = _f(None, "Token used to push to the Hub.")
    hub_private_repo: bool | None = _f(None, "Create the Hub repository as private.")
    hub_model_id: str | None = _f(None, "Hub repository to keep in sync with output_dir.")
    hub_strategy: HubStrategy | str = _f("every_save", "What to push to the Hub and when.")
    hub_always_push: bool = _f(False, "Push even if the previous push has not finished.")
    hub_revision: str | None = _f(None, "Branch, tag or commit to push to.")
    # Best model
    load_best_model_at_end: bool = _f(False, "Reload the best checkpoint when training ends.")
    metric_for_best_model: str | None = _f(None, "Metric that decides the best checkpoint.")
    greater_is_better: bool | None = _f(None, "Whether a larger metric_for_best_model is better.")
    # Resuming and reproducibility
    ignore_data_skip: bool = _f(
        False, "On resume, do not fast-forward the data to where it stopped."
    )
    restore_callback_states_from_checkpoint: bool = _f(False, "Restore callback states on resume.")
    full_determinism: bool = _f(False, "Enable deterministic algorithms (slower).")
    seed: int = _f(42, "Random seed set at the start of training.")
    data_seed: int | None = _f(None, "Seed of the data samplers (defaults to seed).")
    # Hardware and distribution
    use_cpu: bool = _f(False, "Train on the CPU even if an accelerator is present.")
    accelerator_config: dict | str | None = _f(
        None, "Accelerator options (dict, JSON string, JSON/YAML file or AcceleratorConfig)."
    )
    parallelism_config: Any | None = _f(None, "Parallelism configuration object (advanced).")
    # Data loading
    dataloader_drop_last: bool = _f(False, "Drop the last incomplete batch.")
    dataloader_num_workers: int = _f(0, "Worker processes for data loading (0 = main process).")
    dataloader_pin_memory: bool = _f(True, "Pin host memory in the data loaders.")
    dataloader_persistent_workers: bool = _f(
        False, "Keep data-loader workers alive between epochs."
    )
    dataloader_prefetch_factor: int | None = _f(None, "Batches prefetched by each worker.")
    remove_unused_columns: bool = _f(
        True, "Drop dataset columns the model's forward does not take."
    )
    label_names: list[str] | None = _f(None, "Keys of the batch that hold the labels.")
    train_sampling_strategy: str = _f(
        "random", "Order of training samples.", choices=SAMPLING_STRATEGIES
    )
    length_column_name: str = _f("length", "Column holding precomputed lengths.")
    ddp_find_unused_parameters: bool | None = _f(None, "DDP find_unused_parameters flag.")
    ddp_bucket_cap_mb: int | None = _f(None, "DDP bucket size in MB.")
    ddp_broadcast_buffers: bool | None = _f(None, "DDP broadcast_buffers flag.")
    ddp_backend: str | None = _f(None, "Distributed backend.", choices=DDP_BACKENDS)
    ddp_timeout: int = _f(1800, "Timeout in seconds for distributed operations.")
    fsdp: list[FSDPOption] | str | None = _f(None, "FSDP options, e.g. 'full_shard auto_wrap'.")
    fsdp_config: dict[str, Any] | str | None = _f(None, "FSDP configuration (dict, JSON or file).")
    deepspeed: dict | str | None = _f(None, "DeepSpeed configuration (dict, JSON or file).")
    debug: str | list[DebugOption] = _f("", "Debug features, e.g. 'underflow_overflow'.")
    skip_memory_metrics: bool = _f(True, "Skip memory profiling metrics.")
    # Script flags
    do_train: bool = _f(False, "Whether the script should train.")
    do_eval: bool = _f(False, "Whether the script should evaluate.")
    do_predict: bool = _f(False, "Whether the script should predict.")
    resume_from_checkpoint: str | None = _f(None, "Checkpoint folder to resume from.")
    # Deprecated or launcher-set
    warmup_ratio: float | None = _f(None, "Deprecated: fraction of steps for warmup.")
    logging_dir: str | None = _f(None, "Deprecated: TensorBoard log folder.")
    local_rank: int = _f(-1, "Set by the launcher; rank of this process on its node.")
