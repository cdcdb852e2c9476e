"""The ``Trainer``: construction, data, optimisation pieces and the per-batch step.

The training loop itself lives in :mod:`trainer_loop.training`, evaluation in
:mod:`trainer_loop.evaluation`, saving and resuming in :mod:`trainer_loop.saving`; this class
mixes them together and holds what they share.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from trainer_args import TrainingArguments
from trainer_data import (
    DataCollatorWithPadding,
    RemoveColumnsCollator,
    build_eval_dataloader,
    build_train_dataloader,
    default_data_collator,
    has_length,
    remove_unused_columns,
    signature_columns,
)
from trainer_dist import build_accelerator, enable_full_determinism, set_seed
from trainer_optim import (
    build_optimizer,
    create_scheduler,
    get_decay_parameter_names,
    get_optimizer_cls_and_kwargs,
)

from .callbacks import CallbackHandler, TrainerCallback
from .callbacks_builtin import DefaultFlowCallback, PrinterCallback, ProgressCallback
from .evaluation import EvaluationMixin
from .integrations import get_reporting_integration_callbacks
from .losses import LabelSmoother, model_returns_loss_kwargs, output_loss
from .reporting import ReportingMixin
from .saving import SavingMixin
from .state import ExportableState, TrainerControl, TrainerState
from .training import TrainingLoopMixin

logger = logging.getLogger(__name__)


class Trainer(TrainingLoopMixin, EvaluationMixin, SavingMixin, ReportingMixin):
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
            model = model.to(args.device)
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

        self.model_accepts_loss_kwargs = model_returns_loss_kwargs(model)
        self.label_names = (
            list(args.label_names) if args.label_names is not None else _default_label_names(model)
        )
        self.can_return_loss = _can_return_loss(model)
        self.label_smoother = (
            LabelSmoother(args.label_smoothing_factor) if args.label_smoothing_factor else None
        )
        self._validate_construction()

        default_callbacks = [
            DefaultFlowCallback,
            *get_reporting_integration_callbacks(args.report_to),
        ]
        self.callback_handler = CallbackHandler(
            default_callbacks + list(callbacks or []),
            self.model,
            processing_class,
            self.optimizer,
            self.lr_scheduler,
        )
        self.add_callback(PrinterCallback if args.disable_tqdm else ProgressCallback)

        self.hub_model_id = None
        if args.push_to_hub:
            self.init_hf_repo()
        if args.should_save and args.output_dir is not None:
            os.makedirs(args.output_dir, exist_ok=True)

        self.control = TrainerControl()
        self.state = TrainerState(
            is_local_process_zero=self.is_local_process_zero(),
            is_world_process_zero=self.is_world_process_zero(),
            stateful_callbacks=self._stateful_callbacks(),
        )
        self.is_in_train = False
        self.hp_name = None
        self.hp_search_backend = None
        self.current_flos = 0.0
        self._signature_columns: list[str] | None = None
        self._train_batch_size = args.train_batch_size
        self._created_lr_scheduler = False
        self.control = self.callback_handler.on_init_end(args, self.state, self.control)
        if getattr(self.model, "config", None) is not None and hasattr(
            self.model.config, "use_cache"
        ):
            self.model.config.use_cache = args.use_cache

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

    def _default_collator(self) -> Callable:
        if self.processing_class is not None and hasattr(self.processing_class, "pad"):
            return DataCollatorWithPadding(self.processing_class)
        return default_data_collator

    def _validate_construction(self) -> None:
        args = self.args
        if (
            args.batch_eval_metrics
            and self.compute_metrics is not None
            and "compute_result" not in inspect.signature(self.compute_metrics).parameters
        ):
            raise ValueError(
                "batch_eval_metrics=True needs a compute_metrics function with a `compute_result` "
                "argument: it is called per batch and must return the summary when "
                "compute_result=True."
            )
        if (
            str(args.eval_strategy) not in ("no", "IntervalStrategy.NO")
            and self.eval_dataset is None
        ):
            raise ValueError(
                f"eval_strategy={_value(args.eval_strategy)!r} needs an eval_dataset: pass one to "
                "Trainer or set eval_strategy='no'."
            )
        if (
            _value(args.save_strategy) == "best" or args.load_best_model_at_end
        ) and args.metric_for_best_model is None:
            raise ValueError(
                "save_strategy='best' and load_best_model_at_end=True need metric_for_best_model "
                "(for example 'loss' or 'eval_accuracy')."
            )
        if self.optimizer_cls_and_kwargs is not None and self.optimizer is not None:
            raise RuntimeError("Pass either `optimizers` or `optimizer_cls_and_kwargs`, not both.")
        if self.model_init is not None and (
            self.optimizer is not None or self.lr_scheduler is not None
        ):
            raise RuntimeError(
                "`model_init` builds a new model per run, so a ready `optimizers` pair cannot be used; "
                "override create_optimizer_and_scheduler in a subclass instead."
            )
        if self.is_fsdp_enabled and (self.optimizer is not None or self.lr_scheduler is not None):
            raise RuntimeError(
                "Passing `optimizers` is not supported with FSDP: override create_optimizer instead."
            )
        if not callable(self.data_collator):
            raise TypeError(
                "`data_collator` must be callable (a function or an object with __call__)."
            )
        if (
            self.train_dataset is not None
            and not has_length(self.train_dataset)
            and args.max_steps <= 0
        ):
            raise ValueError(
                "The train_dataset has no length, so the number of steps is unknown: set max_steps "
                "to a positive value (the learning-rate schedule needs it in advance)."
            )

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

    # -------------------------------------------------------------------------------- data

    def _signature(self) -> list[str]:
        if self._signature_columns is None:
            self._signature_columns = signature_columns(self.model, self.label_names)
        return self._signature_columns

    def _prepare_dataset(self, dataset: Any, description: str) -> tuple[Any, Callable]:
        collator = self.data_collator
        if not self.args.remove_unused_columns:
            return dataset, collator
        if hasattr(dataset, "column_names") and hasattr(dataset, "remove_columns"):
            return remove_unused_columns(
                dataset, self._signature(), description=description
            ), collator
        return dataset, RemoveColumnsCollator(collator, self._signature(), description=description)

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        """The training dataloader: shuffled per ``data_seed``/``seed``, sharded across processes."""
        if self.train_dataset is None:
            raise ValueError("Trainer: training requires a train_dataset.")
        dataset, collator = self._prepare_dataset(self.train_dataset, "training")
        return build_train_dataloader(
            dataset,
            collator,
            self.args,
            batch_size=self._train_batch_size,
            **self._dataloader_placement(),
        )

    def get_eval_dataloader(self, eval_dataset: Any = None) -> torch.utils.data.DataLoader:
        """The evaluation dataloader (sequential); ``eval_dataset`` may name an entry of a dict."""
        if eval_dataset is None and self.eval_dataset is None:
            raise ValueError("Trainer: evaluation requires an eval_dataset.")
        if isinstance(eval_dataset, str):
            eval_dataset = self.eval_dataset[eval_dataset]
        elif eval_dataset is None:
            eval_dataset = self.eval_dataset
        dataset, collator = self._prepare_dataset(eval_dataset, "evaluation")
        return build_eval_dataloader(dataset, collator, self.args, **self._dataloader_placement())

    def get_test_dataloader(self, test_dataset: Any) -> torch.utils.data.DataLoader:
        """The prediction dataloader (sequential)."""
        dataset, collator = self._prepare_dataset(test_dataset, "test")
        return build_eval_dataloader(dataset, collator, self.args, **self._dataloader_placement())

    def _dataloader_placement(self) -> dict[str, Any]:
        names = getattr(self.processing_class, "model_input_names", None)
        return {
            "model": self.model,
            "world_size": self.accelerator.num_processes,
            "process_index": self.accelerator.process_index,
            "model_input_name": names[0] if names else None,
        }

    def num_examples(self, dataloader: torch.utils.data.DataLoader) -> int:
        """Examples behind a dataloader: its dataset's length, else batches x batch size."""
        try:
            dataset = dataloader.dataset
            return len(dataset)
        except (NameError, AttributeError, TypeError):
            return len(dataloader) * self.args.per_device_train_batch_size

    # ------------------------------------------------------------------- optimizer and schedule

    @staticmethod
    def get_optimizer_cls_and_kwargs(
        args: TrainingArguments, model: nn.Module | None = None
    ) -> tuple[Any, Any]:
        """The optimizer class and keyword arguments that ``args.optim`` names."""
        return get_optimizer_cls_and_kwargs(args, model)

    def get_decay_parameter_names(self, model: nn.Module) -> list[str]:
        """Names of parameters that get weight decay (all but biases and normalisation layers)."""
        return get_decay_parameter_names(model)

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """Build the optimizer from the arguments unless one was passed in."""
        if self.optimizer is None:
            self.optimizer = build_optimizer(
                model if model is not None else self.model, self.args, self.optimizer_cls_and_kwargs
            )
        return self.optimizer

    def create_scheduler(
        self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None
    ) -> Any:
        """Build the learning-rate schedule from the arguments unless one was passed in."""
        if self.lr_scheduler is None:
            self.lr_scheduler = create_scheduler(
                self.args, optimizer or self.optimizer, num_training_steps
            )
            self._created_lr_scheduler = True
        return self.lr_scheduler

    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        """Build both the optimizer and its schedule."""
        self.create_optimizer()
        self.create_scheduler(num_training_steps=num_training_steps, optimizer=self.optimizer)

    def get_learning_rates(self) -> list[float]:
        """The current learning rate of every parameter group."""
        if self.optimizer is None:
            raise ValueError(
                "The optimizer does not exist yet: call create_optimizer() or train() first."
            )
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_optimizer_group(self, param: str | nn.Parameter | None = None):
        """The parameter group holding ``param``, or every group when ``param`` is None."""
        if self.optimizer is None:
            raise ValueError(
                "The optimizer does not exist yet: call create_optimizer() or train() first."
            )
        if param is None:
            return self.optimizer.param_groups
        if isinstance(param, str):
            param = dict(self.model.named_parameters()).get(param)
        for group in self.optimizer.param_groups:
            if any(p is param for p in group["params"]):
                return group
        return None

    def get_num_trainable_parameters(self) -> int:
        """How many parameters require gradients."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    # ------------------------------------------------------------------------- one step

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        device = self.args.device
        if device.type == "cpu" and self._accelerator_device_type() == "cpu":
            return inputs
        return {
            k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in inputs.items()
        }

    def _accelerator_device_type(self) -> str:
        # Looked up through several properties of accelerate's state; cached per accelerator.
        cached = getattr(self, "_device_type_cache", None)
        if cached is None or cached[0] is not self.accelerator:
            cached = self._device_type_cache = (self.accelerator, self.accelerator.device.type)
        return cached[1]

    def autocast_smart_context_manager(
        self, cache_enabled: bool | None = True
    ) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (mixed precision is applied by accelerate)."""
        return contextlib.nullcontext()

    def compute_loss_context_manager(self) -> contextlib.ExitStack:
        """Every context manager a forward pass that computes the loss runs under."""
        stack = contextlib.ExitStack()
        autocast = self.autocast_smart_context_manager()
        if not isinstance(autocast, contextlib.nullcontext):
            stack.enter_context(autocast)
        return stack

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """Run the model and return its loss (and outputs when ``return_outputs``)."""
        labels = None
        if (
            self.label_smoother is not None or self.compute_loss_func is not None
        ) and "labels" in inputs:
            inputs = dict(inputs)
            labels = inputs.pop("labels")
        if self.model_accepts_loss_kwargs and num_items_in_batch is not None:
            inputs = {**inputs, "num_items_in_batch": num_items_in_batch}
        outputs = model(**inputs)
        if self.compute_loss_func is not None:
            loss = self.compute_loss_func(outputs, labels, num_items_in_batch=num_items_in_batch)
        elif labels is not None:
            loss = self.label_smoother(outputs, labels, shift_labels=_is_causal_lm(model))
        else:
            loss = output_loss(outputs, inputs)
        if (
            self.args.average_tokens_across_devices
            and (self.model_accepts_loss_kwargs or self.compute_loss_func is not None)
            and num_items_in_batch is not None
        ):
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    def training_step(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor:
        """Forward and backward on one micro-batch; returns the detached loss (accumulation-scaled)."""
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        del inputs
        if self.args.n_gpu > 1:
            loss = loss.mean()
        if (
            not self.model_accepts_loss_kwargs or num_items_in_batch is None
        ) and self.compute_loss_func is None:
            loss = loss / self.current_gradient_accumulation_steps
        self._backward(loss)
        return loss.detach()

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """Floating-point operations of one forward+backward, when the model can estimate them."""
        main_input = getattr(self.model, "main_input_name", "input_ids")
        if main_input not in inputs or not hasattr(self.model, "num_parameters"):
            return 0
        return 6 * inputs[main_input].numel() * self._non_embedding_parameters()

    def _non_embedding_parameters(self) -> int:
        # Counting walks every parameter; the count does not change during a run, so keep it.
        cached = getattr(self, "_param_count_cache", None)
        if cached is None or cached[0] is not self.model:
            cached = (self.model, self.model.num_parameters(exclude_embeddings=True))
            self._param_count_cache = cached
        return cached[1]


# --------------------------------------------------------------------------------- helpers


def _value(strategy: Any) -> str:
    return getattr(strategy, "value", strategy)


def _is_model_parallel(model: nn.Module, args: TrainingArguments) -> bool:
    device_map = getattr(model, "hf_device_map", None)
    if not device_map:
        return False
    devices = {d for d in device_map.values() if d not in ("cpu", "disk")}
    if len(devices) > 1:
        return True
    return len(devices) == 1 and args.device != torch.device(next(iter(devices)))


def _forward_parameters(model: nn.Module) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(model.forward).parameters)


def _default_label_names(model: nn.Module) -> list[str]:
    params = _forward_parameters(model)
    if "QuestionAnswering" in type(model).__name__:
        return [p for p in params if "label" in p or p in ("start_positions", "end_positions")]
    return [p for p in params if "label" in p]


def _can_return_loss(model: nn.Module) -> bool:
    param = _forward_parameters(model).get("return_loss")
    return bool(param is not None and param.default is True)


def _is_causal_lm(model: nn.Module) -> bool:
    return type(model).__name__.endswith("ForCausalLM") or type(model).__name__.endswith(
        "LMHeadModel"
    )


def _parallel_size(trainer: Trainer, name: str) -> int:
    config = getattr(trainer.accelerator, "parallelism_config", None)
    size = getattr(config, name, None) if config is not None else None
    if name == "tp_size" and size is None:
        size = getattr(trainer.model, "tp_size", None)
    return int(size) if size else 1
