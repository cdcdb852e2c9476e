"""One batch: moving inputs, the loss, forward and backward, clipping, token and FLOs counts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from ..hooks import overrides_any
from ..losses import output_loss
from .contexts import NO_CONTEXT, grad_disabled
from .model_lists import ModelLists

logger = logging.getLogger(__name__)


class StepMixin:
    """One batch: moving inputs, the loss, forward and backward, clipping, token and FLOs counts."""

    def _init_steps(self) -> None:
        """The caches this mixin keeps (called once by ``Trainer.__init__``)."""
        self._model_lists = ModelLists()
        # (args, accelerator, inputs stay on the host): both objects may be replaced.
        self._on_host_cache: tuple | None = None
        # (model, non-embedding parameter count): counting walks every parameter.
        self._param_count_cache: tuple | None = None

    def _start_model_lists(self, model: nn.Module, lists_allowed: bool) -> None:
        """Take the model's module and parameter lists afresh for a run and clear its gradients.

        Sharded models swap parameter views outside module registration, so ``lists_allowed``
        is False for them: they keep their own ``parameters()`` calls.
        """
        self._model_lists.forget(lists_allowed=lists_allowed)
        self._model_lists.zero_grad(model)

    def _zero_grad(self, model: nn.Module) -> None:
        """``model.zero_grad()``: every ``.grad`` set to None, through the kept parameter list."""
        self._model_lists.zero_grad(model)

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Move a batch to the training device (a no-op on CPU unless ``_prepare_input`` is overridden)."""
        if self._inputs_stay_on_host() and self._uses_default("_prepare_input"):
            return inputs
        inputs = self._prepare_input(inputs)
        if isinstance(inputs, Mapping) and len(inputs) == 0:
            raise ValueError(
                "The batch received was empty: the collator returned no inputs. Check the dataset "
                "columns, the data collator and remove_unused_columns."
            )
        return inputs

    def _prepare_input(self, data: Any) -> Any:
        """Move one value to the device: tensors, and mappings, lists and tuples of them."""
        if isinstance(data, Mapping):
            return type(data)({k: self._prepare_input(v) for k, v in data.items()})
        if isinstance(data, (tuple, list)):
            return type(data)(self._prepare_input(v) for v in data)
        if isinstance(data, torch.Tensor):
            if self.is_deepspeed_enabled and (torch.is_floating_point(data) or data.is_complex()):
                dtype = self.accelerator.state.deepspeed_plugin.hf_ds_config.dtype()
                return data.to(device=self.args.device, dtype=dtype, non_blocking=True)
            return data.to(self.args.device, non_blocking=True)
        return data

    def _inputs_stay_on_host(self) -> bool:
        """Whether both the arguments' device and the accelerator's are the CPU."""
        # Looked up through several properties of the arguments and accelerate's state; cached
        # per (arguments, accelerator) pair, as either may be replaced.
        cached = self._on_host_cache
        if cached is None or cached[0] is not self.args or cached[1] is not self.accelerator:
            on_host = self.args.device.type == "cpu" and self.accelerator.device.type == "cpu"
            cached = self._on_host_cache = (self.args, self.accelerator, on_host)
        return cached[2]

    def _uses_default(self, *names: str) -> bool:
        """Whether each named hook is this mixin's own, overridden neither by a subclass nor on
        the instance (the loops skip work that the default hooks would not do)."""
        return overrides_any(self, names, StepMixin) is None

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

    def _default_loss_context(self) -> bool:
        """Whether ``compute_loss_context_manager`` is the default, whose stack enters nothing."""
        return self._uses_default("compute_loss_context_manager", "autocast_smart_context_manager")

    def _loss_context(self) -> contextlib.AbstractContextManager:
        """``compute_loss_context_manager()``, or a shared empty context in place of the default."""
        return NO_CONTEXT if self._default_loss_context() else self.compute_loss_context_manager()

    def _loss_context_without_grad(self) -> grad_disabled:
        """``compute_loss_context_manager()`` under ``torch.no_grad()``, as one context."""
        return grad_disabled(
            None if self._default_loss_context() else self.compute_loss_context_manager()
        )

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
        self._model_lists.train(model)  # model.train(), skipped when it would change nothing
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        with self._loss_context():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        del inputs
        if loss.ndim and self.args.n_gpu > 1:  # one loss per GPU (DataParallel); a scalar stays
            loss = loss.mean()
        if (
            (not self.model_accepts_loss_kwargs or num_items_in_batch is None)
            and self.compute_loss_func is None
            and self.current_gradient_accumulation_steps != 1  # x / 1 is x, exactly
        ):
            loss = loss / self.current_gradient_accumulation_steps
        self._backward(loss)
        return loss.detach()

    def _clip_grad_norm(self, model) -> torch.Tensor | float | None:
        """Clip the gradients to ``max_grad_norm``; returns their norm before clipping."""
        if self.is_deepspeed_enabled:  # the engine clips inside its step
            return self.accelerator.deepspeed_engine_wrapped.engine.get_global_grad_norm()
        max_norm = self.args.max_grad_norm
        if self._run.accelerate_wrapped:  # unscales mixed-precision gradients first
            return self.accelerator.clip_grad_norm_(model.parameters(), max_norm)
        return torch.nn.utils.clip_grad_norm_(self._model_lists.parameters(model), max_norm)

    def _get_grad_norm(self, model, grad_norm=None) -> torch.Tensor | float | None:
        """The gradient norm to log: ``grad_norm`` from clipping, else measured without clipping."""
        if grad_norm is not None:
            return grad_norm
        if self.is_deepspeed_enabled:
            return self.accelerator.deepspeed_engine_wrapped.engine.get_global_grad_norm()
        if self._run.accelerate_wrapped:
            return self.accelerator.clip_grad_norm_(model.parameters(), float("inf"))
        grads = [p.grad for p in self._model_lists.parameters(model) if p.grad is not None]
        return torch.nn.utils.get_total_norm(grads) if grads else None

    def _track_num_input_tokens(self, inputs) -> None:
        main_input_name = getattr(self.model, "main_input_name", "input_ids")
        if main_input_name not in inputs:
            logger.warning(
                "Cannot count input tokens: the batch has no '%s' (the model's main input).",
                main_input_name,
            )
            return
        if str(self.args.include_num_input_tokens_seen) == "non_padding":
            if "attention_mask" in inputs:
                tokens = inputs["attention_mask"].sum()
            elif getattr(self.processing_class, "pad_token_id", None) is not None:
                tokens = (inputs[main_input_name] != self.processing_class.pad_token_id).sum()
            else:
                tokens = inputs[main_input_name].numel()
        else:
            tokens = inputs[main_input_name].numel()
        tokens = torch.as_tensor(tokens, device=self.args.device, dtype=torch.int64)
        if self.accelerator.num_processes > 1:
            tokens = self.accelerator.gather(tokens.reshape(1)).sum()
        self.state.num_input_tokens_seen += int(tokens.item())

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """Floating-point operations of one forward+backward, when the model can estimate them."""
        main_input = getattr(self.model, "main_input_name", "input_ids")
        if main_input not in inputs or not hasattr(self.model, "num_parameters"):
            return 0
        return 6 * inputs[main_input].numel() * self._non_embedding_parameters()

    def _non_embedding_parameters(self) -> int:
        # Counting walks every parameter; the count does not change during a run, so keep it.
        cached = self._param_count_cache
        if cached is None or cached[0] is not self.model:
            cached = (self.model, self.model.num_parameters(exclude_embeddings=True))
            self._param_count_cache = cached
        return cached[1]

    def get_batch_samples(
        self, epoch_iterator: Iterator, num_batches: int, device: torch.device
    ) -> tuple[list, torch.Tensor | int | None]:
        """Pull up to ``num_batches`` micro-batches and count their label tokens when the loss needs it."""
        batch_samples = []
        for _ in range(num_batches):
            try:
                batch_samples.append(next(epoch_iterator))
            except StopIteration:
                break
        return batch_samples, self._get_num_items_in_batch(batch_samples, device)

    def _get_num_items_in_batch(
        self, batch_samples: list, device: torch.device
    ) -> torch.Tensor | int | None:
        """Label tokens (labels other than -100) in these micro-batches, when the loss divides by them."""
        if not batch_samples or not (
            self.model_accepts_loss_kwargs or self.compute_loss_func is not None
        ):
            return None
        first = batch_samples[0]
        # Any mapping counts: collators that pad with a tokenizer return a BatchEncoding.
        if not isinstance(first, Mapping) or "labels" not in first:
            return None
        try:
            count = sum(batch["labels"].ne(-100).sum() for batch in batch_samples)
        except (TypeError, AttributeError):
            return None
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            count = self.accelerator.gather(count.to(device)).sum()
        elif self.args.n_gpu > 1:
            count = count // self.args.n_gpu
        return count.to(device) if torch.is_tensor(count) else count

    def _sync_context(self, model, last: bool):
        if last or self.accelerator.num_processes == 1 or self.is_deepspeed_enabled:
            return NO_CONTEXT
        return self.accelerator.no_sync(model)

    def _backward(self, loss: torch.Tensor) -> None:
        run = self._run
        accumulation = self.args.gradient_accumulation_steps
        # transformers 5.3.0 divides by the accumulation steps here too (inside accelerate's
        # backward), on top of training_step's normalisation; done alike so runs and
        # checkpoints reproduce between the two libraries (see docs/migration.md). A resume
        # with other accumulation steps keeps the checkpoint's divisor (gradient_scale.py).
        divisor = accumulation if run is None else run.gradient_divisor
        if self.is_deepspeed_enabled:  # the engine divides by its accumulation steps
            if divisor != accumulation:
                loss = loss * (accumulation / divisor)
            self.accelerator.backward(loss, scale_wrt_gas=False)
            return
        if divisor > 1:
            loss = loss / divisor
        fused = run.fused_backward if run is not None else None
        if fused is not None:  # LOMO/AdaLomo update each parameter as its gradient arrives
            fused.fused_backward(loss, self._get_learning_rate())
            return
        scaler = getattr(self.accelerator, "scaler", None)
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()


def _is_causal_lm(model: nn.Module) -> bool:
    return type(model).__name__.endswith("ForCausalLM") or type(model).__name__.endswith(
        "LMHeadModel"
    )
