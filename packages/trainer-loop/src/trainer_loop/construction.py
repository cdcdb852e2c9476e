"""What ``Trainer.__init__`` reads off the model and checks before it goes on (mixed into ``Trainer``).

The label names and ``can_return_loss`` come from the signature of the model's ``forward``;
``ConstructionChecksMixin`` rejects argument combinations that cannot work, at construction
rather than halfway through a run.
"""

from __future__ import annotations

import inspect

from torch import nn
from trainer_data import has_length

from .options import option_name


class ConstructionChecksMixin:
    """The checks ``Trainer.__init__`` runs once its attributes are set."""

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
                f"eval_strategy={option_name(args.eval_strategy)!r} needs an eval_dataset: pass one to "
                "Trainer or set eval_strategy='no'."
            )
        if (
            option_name(args.save_strategy) == "best" or args.load_best_model_at_end
        ) and args.metric_for_best_model is None:
            raise ValueError(
                "`args.metric_for_best_model` must be provided: save_strategy='best' and "
                "load_best_model_at_end=True need it (for example 'loss' or 'eval_accuracy')."
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


def default_label_names(model: nn.Module) -> list[str]:
    """The ``forward`` parameters that hold labels, as transformers finds them."""
    params = _forward_parameters(model)
    if "QuestionAnswering" in type(model).__name__:
        return [p for p in params if "label" in p or p in ("start_positions", "end_positions")]
    return [p for p in params if "label" in p]


def can_return_loss(model: nn.Module) -> bool:
    """Whether ``forward`` returns the loss without labels (its ``return_loss`` defaults to True)."""
    param = _forward_parameters(model).get("return_loss")
    return bool(param is not None and param.default is True)


def _forward_parameters(model: nn.Module) -> dict[str, inspect.Parameter]:
    # The class's forward, as transformers reads it (an instance may carry hooks around it).
    return dict(inspect.signature(type(model).forward).parameters)
