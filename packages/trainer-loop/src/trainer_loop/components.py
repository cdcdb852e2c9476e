"""Data loaders, optimizer and learning-rate schedule of a ``Trainer``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from trainer_args import TrainingArguments
from trainer_data import (
    RemoveColumnsCollator,
    build_eval_dataloader,
    build_train_dataloader,
    remove_unused_columns,
    signature_columns,
)
from trainer_optim import (
    build_optimizer,
    create_scheduler,
    get_decay_parameter_names,
    get_optimizer_cls_and_kwargs,
)


class ComponentsMixin:
    """Data loaders, optimizer and learning-rate schedule of a ``Trainer``."""

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
