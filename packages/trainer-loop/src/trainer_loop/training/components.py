"""Data loaders, optimizer and learning-rate schedule of a ``Trainer``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from trainer_args import TrainingArguments
from trainer_data import (
    RemoveColumnsCollator,
    dataloader_from_sampler,
    eval_sampler,
    has_length,
    is_hf_dataset,
    is_iterable_dataset,
    remove_unused_columns,
    signature_columns,
    train_sampler,
)
from trainer_optim import (
    build_optimizer,
    create_scheduler,
    get_decay_parameter_names,
    get_optimizer_cls_and_kwargs,
)


class ComponentsMixin:
    """Data loaders, optimizer and learning-rate schedule of a ``Trainer``."""

    def _init_components(self) -> None:
        """What this mixin keeps between calls (called once by ``Trainer.__init__``)."""
        self._signature_columns: list[str] | None = None  # what the model's forward accepts
        self._eval_dataloaders: dict[str, Any] = {}  # kept with dataloader_persistent_workers
        self._train_batch_size = self.args.train_batch_size  # auto_find_batch_size lowers it
        self._created_lr_scheduler = False  # a schedule built here is rebuilt at the next run

    def _forget_model_columns(self) -> None:
        """A new model (``model_init``) may accept other columns: look them up again."""
        self._signature_columns = None

    def _drop_created_scheduler(self) -> None:
        """Forget a schedule built by an earlier run, so this run builds one for its own length."""
        if self._created_lr_scheduler:
            self.lr_scheduler = None
            self._created_lr_scheduler = False

    # -- columns: what the model's forward accepts ----------------------------------------------
    def _set_signature_columns_if_needed(self) -> None:
        """Fill ``self._signature_columns`` from the model's ``forward`` (and the label names) once."""
        if self._signature_columns is None:
            self._signature_columns = signature_columns(self.model, self.label_names)

    def _remove_unused_columns(self, dataset: Any, description: str | None = None) -> Any:
        """Drop the columns of a ``datasets.Dataset`` that the model's ``forward`` does not take."""
        if not self.args.remove_unused_columns:
            return dataset
        self._set_signature_columns_if_needed()
        return remove_unused_columns(
            dataset,
            self._signature_columns,
            description=description,
            model_name=type(self.model).__name__,
        )

    def _get_collator_with_removed_columns(
        self, data_collator: Callable, description: str | None = None
    ) -> Callable:
        """Wrap ``data_collator`` so example keys the model does not take are dropped first."""
        if not self.args.remove_unused_columns:
            return data_collator
        self._set_signature_columns_if_needed()
        return RemoveColumnsCollator(
            data_collator,
            self._signature_columns,
            model_name=type(self.model).__name__,
            description=description,
        )

    # -- samplers and data loaders --------------------------------------------------------------
    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        """The training order (``None`` for a dataset without length); override for a custom one."""
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        return train_sampler(
            dataset,
            self.args,
            batch_size=self._train_batch_size,
            model_input_name=self._model_input_name(),
        )

    def _get_eval_sampler(self, eval_dataset: Any) -> torch.utils.data.Sampler | None:
        """The evaluation/prediction order (``None`` for a dataset without length)."""
        return eval_sampler(
            eval_dataset,
            self.args,
            batch_size=self.args.eval_batch_size,
            model_input_name=self._model_input_name(),
        )

    def _get_dataloader(
        self,
        dataset: Any,
        description: str,
        batch_size: int,
        sampler_fn: Callable[[Any], torch.utils.data.Sampler | None] | None = None,
        is_training: bool = False,
        dataloader_key: str | None = None,
    ) -> torch.utils.data.DataLoader:
        """A DataLoader over ``dataset``: unused columns dropped, order from ``sampler_fn(dataset)``
        (map-style data only: an iterable dataset is read in its own order), sharded across
        processes. With ``dataloader_persistent_workers`` the loader is kept under
        ``dataloader_key`` and reused by later evaluations."""
        if dataset is None or (has_length(dataset) and len(dataset) == 0):
            what = "training" if is_training else "evaluation"
            raise ValueError(f"The {what} dataset is empty (0 examples); pass a non-empty dataset.")
        collator = self.data_collator
        if is_hf_dataset(dataset):
            dataset = self._remove_unused_columns(dataset, description=description)
        else:
            collator = self._get_collator_with_removed_columns(collator, description=description)
        # As in transformers, only map-style data gets a sampler: a stream has no indices to order
        # (and a subclass's sampler, such as TRL's, may take its length).
        sampler = None
        if sampler_fn is not None and not is_iterable_dataset(dataset):
            sampler = sampler_fn(dataset)
        loader = dataloader_from_sampler(
            dataset,
            collator,
            self.args,
            sampler,
            batch_size=batch_size,
            world_size=self.accelerator.num_processes,
            process_index=self.accelerator.process_index,
            training=is_training,
        )
        if dataloader_key is not None and self.args.dataloader_persistent_workers:
            self._eval_dataloaders[dataloader_key] = loader
        return loader

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        """The training dataloader: shuffled per ``data_seed``/``seed``, sharded across processes."""
        if self.train_dataset is None:
            raise ValueError("Trainer: training requires a train_dataset.")
        return self._get_dataloader(
            dataset=self.train_dataset,
            description="Training",
            batch_size=self._train_batch_size,
            sampler_fn=self._get_train_sampler,
            is_training=True,
        )

    def get_eval_dataloader(self, eval_dataset: Any = None) -> torch.utils.data.DataLoader:
        """The evaluation dataloader (sequential); ``eval_dataset`` may name an entry of a dict.

        With ``dataloader_persistent_workers=True`` the loader (and its workers) is built once per
        evaluation dataset and reused.
        """
        if eval_dataset is None and self.eval_dataset is None:
            raise ValueError("Trainer: evaluation requires an eval_dataset.")
        key = eval_dataset if isinstance(eval_dataset, str) else "eval"
        if self.args.dataloader_persistent_workers and key in self._eval_dataloaders:
            return self._eval_dataloaders[key]
        if isinstance(eval_dataset, str):
            eval_dataset = self.eval_dataset[eval_dataset]
        elif eval_dataset is None:
            eval_dataset = self.eval_dataset
        return self._get_dataloader(
            dataset=eval_dataset,
            description="Evaluation",
            batch_size=self.args.eval_batch_size,
            sampler_fn=self._get_eval_sampler,
            dataloader_key=key,
        )

    def get_test_dataloader(self, test_dataset: Any) -> torch.utils.data.DataLoader:
        """The prediction dataloader (sequential)."""
        return self._get_dataloader(
            dataset=test_dataset,
            description="test",
            batch_size=self.args.eval_batch_size,
            sampler_fn=self._get_eval_sampler,
        )

    def _model_input_name(self) -> str | None:
        names = getattr(self.processing_class, "model_input_names", None)
        return names[0] if names else None

    def num_examples(self, dataloader: torch.utils.data.DataLoader) -> int:
        """Examples behind a dataloader: its dataset's length, else batches x batch size."""
        try:
            dataset = dataloader.dataset
            return len(dataset)
        except (NameError, AttributeError, TypeError):
            return len(dataloader) * self.args.per_device_train_batch_size

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
