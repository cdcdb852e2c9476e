"""The ``Trainer``: construction, callbacks and process facts; the rest comes from its mixins.

The training loop lives in :mod:`trainer_loop.training.loop`, evaluation in
:mod:`trainer_loop.evaluation.loop`, saving and resuming in :mod:`trainer_loop.checkpointing.saving`, data loaders and
the optimizer in :mod:`trainer_loop.training.components`, the per-batch step in :mod:`trainer_loop.steps.mixin`,
the checks of the constructor's arguments in :mod:`trainer_loop.construction`; this class mixes them
together and holds what they share.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from trainer_args import TrainingArguments
from trainer_data import DataCollatorWithPadding, default_data_collator
from trainer_dist import build_accelerator, enable_full_determinism, set_seed

from .callbacks.base import CallbackHandler, TrainerCallback
from .callbacks.builtin import DefaultFlowCallback, PrinterCallback, ProgressCallback
from .checkpointing.adapters import base_model_of_adapters
from .checkpointing.checks import ensure_output_dir
from .checkpointing.resuming import ResumingMixin
from .checkpointing.saving import SavingMixin
from .construction import ConstructionChecksMixin, can_return_loss, default_label_names
from .evaluation.best_metric import BestMetricMixin
from .evaluation.loop import EvaluationMixin
from .integrations import get_reporting_integration_callbacks
from .losses import build_label_smoother, model_returns_loss_kwargs
from .reporting.hub import HubMixin
from .reporting.log_setup import configure_logging
from .reporting.mixin import ReportingMixin
from .run import RunAttributes
from .search.mixin import SearchMixin
from .state import ExportableState, TrainerControl, TrainerState
from .steps.mixin import StepMixin
from .training.components import ComponentsMixin
from .training.loop import TrainingLoopMixin

logger = logging.getLogger(__name__)


class Trainer(
    TrainingLoopMixin,
    EvaluationMixin,
    BestMetricMixin,
    SavingMixin,
    ResumingMixin,
    SearchMixin,
    HubMixin,
    ReportingMixin,
    ComponentsMixin,
    StepMixin,
    ConstructionChecksMixin,
    RunAttributes,
):
    """Train, evaluate and predict with a PyTorch model, with the transformers ``Trainer`` API.

    ``model`` is any ``torch.nn.Module`` whose ``forward`` accepts the batch's keys and, given
    labels, returns the loss first (tuple) or under ``loss`` (mapping or attribute). Use
    ``model_init`` instead of ``model`` to build a fresh model for each ``train()`` call (needed by
    hyperparameter search). Everything else follows the transformers 5.3.0 documentation.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        args: TrainingArguments | None = None,
        data_collator: Callable | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        model_init: Callable[..., nn.Module] | None = None,
        compute_loss_func: Callable | None = None,
        compute_metrics: Callable[..., dict] | None = None,
        callbacks: list[TrainerCallback | type[TrainerCallback]] | None = None,
        optimizers: tuple[torch.optim.Optimizer | None, Any] = (None, None),
        optimizer_cls_and_kwargs: tuple[type[torch.optim.Optimizer], dict[str, Any]] | None = None,
        preprocess_logits_for_metrics: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
        | None = None,
    ):
        if args is None:
            logger.info("No TrainingArguments passed, using output_dir='tmp_trainer'.")
            args = TrainingArguments(output_dir="tmp_trainer")
        self.args = args
        configure_logging(args)
        self._init_reporting()  # first: memory metrics count from here
        self._memory_start("init")
        self._init_steps()
        self._init_training()
        self._init_evaluation()
        self._init_saving()
        self._init_search()
        self._init_hub()
        self._seed_everything()
        self.model_init = model_init
        if model is None:
            if model_init is None:
                raise RuntimeError(
                    "Trainer needs a `model` or a `model_init` function to build one."
                )
            model = self.call_model_init()
        elif model_init is not None:
            raise ValueError("Pass either `model` or `model_init` to Trainer, not both.")
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}.")

        self.model = self.model_wrapped = model
        self.create_accelerator_and_postprocess()
        self.deepspeed = None
        self.is_model_parallel = _is_model_parallel(model, args)
        self.place_model_on_device = self._decide_placement()
        if self.place_model_on_device:
            self._move_model_to_device(model, args.device)
        self.model = self.model_wrapped = model

        self.processing_class = processing_class
        self.data_collator = (
            data_collator if data_collator is not None else self._default_collator()
        )
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.compute_loss_func = compute_loss_func
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.optimizer, self.lr_scheduler = optimizers
        self.optimizer_cls_and_kwargs = optimizer_cls_and_kwargs
        self.neftune_noise_alpha = args.neftune_noise_alpha

        self.model_accepts_loss_kwargs = model_returns_loss_kwargs(base_model_of_adapters(model))
        inspected = base_model_of_adapters(model)  # a PEFT model names no inputs of its own
        self.label_names = (
            list(args.label_names)
            if args.label_names is not None
            else default_label_names(inspected)
        )
        self.can_return_loss = can_return_loss(inspected)
        self.label_smoother = build_label_smoother(args.label_smoothing_factor, model)
        self._validate_construction()

        default_callbacks = [
            DefaultFlowCallback,
            *get_reporting_integration_callbacks(args.report_to),
        ]
        if args.enable_jit_checkpoint:
            from .callbacks.jit_checkpoint import JITCheckpointCallback

            default_callbacks.append(JITCheckpointCallback(trainer=self))
        self.callback_handler = CallbackHandler(
            default_callbacks + list(callbacks or []),
            self.model,
            processing_class,
            self.optimizer,
            self.lr_scheduler,
        )
        self.add_callback(PrinterCallback if args.disable_tqdm else ProgressCallback)

        if args.push_to_hub:
            self.init_hf_repo()
        if args.should_save and args.output_dir is not None:
            ensure_output_dir(args.output_dir)

        self.control = TrainerControl()
        self.state = TrainerState(
            is_local_process_zero=self.is_local_process_zero(),
            is_world_process_zero=self.is_world_process_zero(),
            stateful_callbacks=self._stateful_callbacks(),
        )
        self.is_in_train = False
        self.current_flos = 0.0
        self._init_components()
        self.control = self.callback_handler.on_init_end(args, self.state, self.control)
        if getattr(self.model, "config", None) is not None and hasattr(
            self.model.config, "use_cache"
        ):
            self.model.config.use_cache = args.use_cache
        self._memory_stop("init")

    # ----------------------------------------------------------------------------- construction

    def _seed_everything(self) -> None:
        if self.args.full_determinism:
            enable_full_determinism(self.args.seed)
        else:
            set_seed(self.args.seed)

    def _decide_placement(self) -> bool:
        args = self.args
        explicit = getattr(args, "place_model_on_device", None)
        if explicit is not None and not explicit:
            return False
        return not (
            self.is_model_parallel
            or self.is_deepspeed_enabled
            or self.is_fsdp_enabled
            or args.fp16_full_eval
            or args.bf16_full_eval
        )

    def _move_model_to_device(self, model: nn.Module, device: torch.device) -> None:
        """Put the model's parameters and buffers on ``device`` (not for a model spread over devices)."""
        if getattr(model, "hf_device_map", None) is not None:
            logger.warning(
                "The model is spread over several devices; it is not moved to %s.", device
            )
            return
        model.to(device)

    def _wrap_model(
        self, model: nn.Module, training: bool = True, dataloader: Any = None
    ) -> nn.Module:
        """The model as the loop runs it: ``nn.DataParallel`` over several GPUs of one process.

        DDP, FSDP and DeepSpeed wrapping are accelerate's, afterwards. An already wrapped model
        is returned as it is. Override to wrap the model your own way.
        """
        already_wrapped = hasattr(model, "module") or hasattr(model, "_orig_mod")
        if already_wrapped or self.args.n_gpu <= 1 or getattr(model, "is_loaded_in_8bit", False):
            return model
        return nn.DataParallel(model)

    def _default_collator(self) -> Callable:
        if self.processing_class is not None and hasattr(self.processing_class, "pad"):
            return DataCollatorWithPadding(self.processing_class)
        return default_data_collator

    def call_model_init(self, trial: Any = None) -> nn.Module:
        """Build a model with ``model_init``, passing ``trial`` when the function takes an argument."""
        n_params = len(inspect.signature(self.model_init).parameters)
        if n_params == 0:
            model = self.model_init()
        elif n_params == 1:
            model = self.model_init(trial)
        else:
            raise RuntimeError("model_init should take no argument or a single `trial` argument.")
        if model is None:
            raise RuntimeError("model_init returned None: it must return a torch.nn.Module.")
        return model

    # ---------------------------------------------------------------------------------- callbacks

    def add_callback(self, callback: type[TrainerCallback] | TrainerCallback) -> None:
        """Add a callback (class or instance) to the ones notified of training events."""
        self.callback_handler.add_callback(callback)

    def pop_callback(
        self, callback: type[TrainerCallback] | TrainerCallback
    ) -> TrainerCallback | None:
        """Remove a callback and return it (``None`` when absent)."""
        return self.callback_handler.pop_callback(callback)

    def remove_callback(self, callback: type[TrainerCallback] | TrainerCallback) -> None:
        """Remove a callback (class or instance) without returning it."""
        self.callback_handler.remove_callback(callback)

    def _stateful_callbacks(self) -> list:
        return [
            cb
            for cb in [*self.callback_handler.callbacks, getattr(self, "control", None)]
            if isinstance(cb, ExportableState)
        ]

    # ------------------------------------------------------------------------------- processes

    def is_local_process_zero(self) -> bool:
        """Whether this process is the main one on its machine."""
        return self.accelerator.is_local_main_process

    def is_world_process_zero(self) -> bool:
        """Whether this process is the main one across all machines."""
        return self.accelerator.is_main_process

    def get_tp_size(self) -> int:
        """Tensor-parallel degree (1 unless a parallelism config says otherwise)."""
        return _parallel_size(self, "tp_size")

    def get_cp_size(self) -> int:
        """Context-parallel degree."""
        return _parallel_size(self, "cp_size")

    def get_sp_size(self) -> int:
        """Sequence-parallel degree."""
        return _parallel_size(self, "sp_size")

    def get_total_train_batch_size(self, args: TrainingArguments) -> int:
        """Samples per optimizer step: micro-batch x accumulation x data-parallel processes."""
        dp_world = args.world_size // self.get_tp_size() // self.get_cp_size() // self.get_sp_size()
        return self._train_batch_size * args.gradient_accumulation_steps * dp_world

    def create_accelerator_and_postprocess(self) -> None:
        """Build ``self.accelerator`` from the arguments (called by ``__init__``) and set the
        DeepSpeed/FSDP flags from it, which also covers plugins chosen by ``accelerate launch``."""
        self.accelerator = build_accelerator(self.args, model=getattr(self, "model", None))
        self.is_deepspeed_enabled = (
            getattr(self.accelerator.state, "deepspeed_plugin", None) is not None
        )
        self.is_fsdp_enabled = getattr(self.accelerator.state, "fsdp_plugin", None) is not None
        # Evaluation gathers each batch across processes with this and drops the duplicates of
        # even sharding once at the end; a subclass may replace it (as transformers allows).
        self.gather_function = self.accelerator.gather
        self._forget_model_preparation()  # a new accelerator has not prepared the model yet


# --------------------------------------------------------------------------------- helpers


def _is_model_parallel(model: nn.Module, args: TrainingArguments) -> bool:
    device_map = getattr(model, "hf_device_map", None)
    if not device_map:
        return False
    devices = {d for d in device_map.values() if d not in ("cpu", "disk")}
    if len(devices) > 1:
        return True
    return len(devices) == 1 and args.device != torch.device(next(iter(devices)))


def _parallel_size(trainer: Trainer, name: str) -> int:
    config = getattr(trainer.accelerator, "parallelism_config", None)
    size = getattr(config, name, None) if config is not None else None
    if name == "tp_size" and size is None:
        size = getattr(trainer.model, "tp_size", None)
    return int(size) if size else 1
