"""``Seq2SeqTrainer``: a ``Trainer`` whose evaluation can score ``model.generate`` output."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from trainer_args import TrainingArguments
from trainer_loop import PredictionOutput, Trainer, TrainerCallback
from trainer_loop.losses import output_loss

from .generation import generation_lengths
from .generation import load_generation_config as _load_generation_config

__all__ = ["Seq2SeqTrainer"]

logger = logging.getLogger(__name__)

# Batch keys that are targets, not generation inputs. ``decoder_input_ids`` and
# ``decoder_attention_mask`` are dropped only when they were built from the labels (same shape).
_DECODER_KEYS = ("decoder_input_ids", "decoder_attention_mask")


class Seq2SeqTrainer(Trainer):
    """``Trainer`` for sequence-to-sequence models, a drop-in for ``transformers.Seq2SeqTrainer``.

    With ``args.predict_with_generate=True`` (``Seq2SeqTrainingArguments``), ``evaluate`` and
    ``predict`` produce predictions with ``model.generate`` instead of the logits of a forward
    pass: ``compute_metrics`` receives generated token ids (``EvalPrediction.predictions``) and
    the labels, both padded with the pad token to the generation length and, across batches of
    different lengths, with -100. The loss is still computed with one forward pass when the batch
    holds labels.

    Keyword arguments of ``evaluate``/``predict`` beyond the usual ones go to ``generate``
    (``max_length``, ``max_new_tokens``, ``num_beams``, ``do_sample``, ...); ``max_length`` and
    ``num_beams`` default to ``args.generation_max_length`` and ``args.generation_num_beams``.
    ``args.generation_config``, when set, replaces ``model.generation_config`` at construction.

    The model needs a ``generate`` method taking the batch's inputs as keyword arguments and
    returning token ids of shape ``(batch, length)``, as transformers models have.
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
        preprocess_logits_for_metrics: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
        | None = None,
    ):
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            model_init=model_init,
            compute_loss_func=compute_loss_func,
            compute_metrics=compute_metrics,
            callbacks=callbacks,
            optimizers=optimizers,
            preprocess_logits_for_metrics=preprocess_logits_for_metrics,
        )
        self._gen_kwargs: dict[str, Any] = {}
        # args.generation_config wins over the model's own; plain TrainingArguments have none.
        source = getattr(self.args, "generation_config", None)
        if source is not None:
            self.model.generation_config = self.load_generation_config(source)

    @staticmethod
    def load_generation_config(gen_config_arg: Any) -> Any:
        """A strictly validated ``GenerationConfig`` from a config object, path or model id.

        A ``GenerationConfig`` is deep-copied; a JSON file, a folder or a Hub id is read with
        ``GenerationConfig.from_pretrained`` (which needs transformers). Settings that
        transformers would only warn about raise ``ValueError`` here, so a bad config stops the
        run before training rather than when the model is saved.
        """
        return _load_generation_config(gen_config_arg)

    # ---------------------------------------------------------------------- evaluate / predict

    def _generation_defaults(self, gen_kwargs: dict[str, Any]) -> dict[str, Any]:
        gen_kwargs = dict(gen_kwargs)
        max_length = getattr(self.args, "generation_max_length", None)
        num_beams = getattr(self.args, "generation_num_beams", None)
        if (
            gen_kwargs.get("max_length") is None
            and gen_kwargs.get("max_new_tokens") is None
            and max_length is not None
        ):
            gen_kwargs["max_length"] = max_length
        if gen_kwargs.get("num_beams") is None and num_beams is not None:
            gen_kwargs["num_beams"] = num_beams
        return gen_kwargs

    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
        **gen_kwargs: Any,
    ) -> dict[str, float]:
        """Evaluate like ``Trainer.evaluate``; extra keyword arguments go to ``model.generate``.

        ``max_length`` (unless ``max_new_tokens`` is given) and ``num_beams`` fall back to
        ``args.generation_max_length`` and ``args.generation_num_beams``. Generation only happens
        with ``args.predict_with_generate=True`` and a ``compute_metrics`` function (without one,
        evaluation computes the loss only, as in transformers).
        """
        self._gen_kwargs = self._generation_defaults(gen_kwargs)
        return super().evaluate(
            eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix
        )

    def predict(
        self,
        test_dataset: Any,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "test",
        **gen_kwargs: Any,
    ) -> PredictionOutput:
        """Predict like ``Trainer.predict``; extra keyword arguments go to ``model.generate``.

        With ``args.predict_with_generate=True`` the predictions are generated token ids, padded
        with the pad token to the generation length and with -100 between batches of different
        lengths. Defaults for ``max_length`` and ``num_beams`` are as in :meth:`evaluate`.
        """
        self._gen_kwargs = self._generation_defaults(gen_kwargs)
        return super().predict(
            test_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix
        )

    # ----------------------------------------------------------------------------- one batch

    def prediction_step(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
        **gen_kwargs: Any,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """One evaluation batch: ``(loss, generated_tokens, labels)`` when generating.

        Without ``args.predict_with_generate``, or when only the loss is wanted, this is
        ``Trainer.prediction_step``. Otherwise the batch minus its targets goes to
        ``self.model.generate(**inputs, **gen_kwargs)`` (``gen_kwargs`` default to those set by
        the last ``evaluate``/``predict`` call), a forward pass gives the loss when the batch has
        labels, and tokens and labels are padded to the generation length.
        """
        if not getattr(self.args, "predict_with_generate", False) or prediction_loss_only:
            return super().prediction_step(
                model, inputs, prediction_loss_only=prediction_loss_only, ignore_keys=ignore_keys
            )
        has_labels = inputs.get("labels") is not None
        inputs = self._prepare_inputs(inputs)

        # Explicit arguments win over the model's generation config, which wins over the defaults
        # of generate(); None values are dropped so that they do not override anything.
        if not gen_kwargs:
            gen_kwargs = dict(self._gen_kwargs)
        for key in ("num_beams", "max_length"):
            if key in gen_kwargs and gen_kwargs[key] is None:
                del gen_kwargs[key]
        gen_kwargs.setdefault("synced_gpus", self._default_synced_gpus())
        self._warn_both_lengths(gen_kwargs)

        with torch.no_grad(), self._full_parameters():
            generated_tokens = self.model.generate(**self._generation_inputs(inputs), **gen_kwargs)
        max_length, max_new_tokens = generation_lengths(self.model, gen_kwargs)
        generated_tokens = self._pad_to_generation_length(
            generated_tokens, max_length, max_new_tokens
        )

        loss = None
        if has_labels:
            with torch.no_grad(), self.compute_loss_context_manager():
                outputs = model(**inputs)
            if self.label_smoother is not None:
                loss = self.label_smoother(outputs, inputs["labels"]).detach().mean()
            else:
                loss = output_loss(outputs, inputs).detach().mean()

        if self.args.prediction_loss_only:
            return loss, None, None
        labels = None
        if has_labels:
            labels = self._pad_to_generation_length(inputs["labels"], max_length, max_new_tokens)
        return loss, generated_tokens, labels

    # ------------------------------------------------------------------------------ helpers

    @staticmethod
    def _generation_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
        """The batch without labels (and decoder inputs made from them), so generation runs free."""
        labels = inputs.get("labels")
        decoder_ids = inputs.get("decoder_input_ids")
        drop = {"labels"}
        if (
            isinstance(labels, torch.Tensor)
            and isinstance(decoder_ids, torch.Tensor)
            and labels.shape == decoder_ids.shape
        ):
            drop.update(_DECODER_KEYS)
        return {k: v for k, v in inputs.items() if k not in drop}

    def _default_synced_gpus(self) -> bool:
        """Whether every process must keep stepping ``generate`` until all are done.

        True under DeepSpeed ZeRO-3 and FSDP, where parameters are gathered collectively on each
        forward pass (a process that stopped early would leave the others waiting).
        """
        plugin = getattr(self.accelerator.state, "deepspeed_plugin", None)
        if plugin is not None:
            # The DeepSpeed config is authoritative; the plugin's zero_stage may be a default.
            is_zero3 = getattr(getattr(plugin, "hf_ds_config", None), "is_zero3", None)
            if callable(is_zero3):
                if is_zero3():
                    return True
            elif getattr(plugin, "zero_stage", None) == 3:
                return True
        return _is_fsdp_module(self.model)

    def _full_parameters(self) -> contextlib.AbstractContextManager:
        """Gather an FSDP (v1) root module's full parameters for generation."""
        fsdp = sys.modules.get("torch.distributed.fsdp")
        fsdp_cls = getattr(fsdp, "FullyShardedDataParallel", None)
        if fsdp_cls is not None and isinstance(self.model, fsdp_cls):
            return fsdp_cls.summon_full_params(self.model)
        return contextlib.nullcontext()

    def _warn_both_lengths(self, gen_kwargs: dict[str, Any]) -> None:
        # transformers' generate() says this itself; a plain model's generate() may not.
        if (
            getattr(self.model, "generation_config", None) is None
            and gen_kwargs.get("max_length") is not None
            and gen_kwargs.get("max_new_tokens") is not None
        ):
            logger.warning(
                "Both `max_new_tokens` (=%s) and `max_length` (=%s) are set for generate(); "
                "`max_new_tokens` usually takes precedence. Pass only one of them.",
                gen_kwargs["max_new_tokens"],
                gen_kwargs["max_length"],
            )

    def _pad_to_generation_length(
        self, tensor: torch.Tensor, max_length: int | None, max_new_tokens: int | None
    ) -> torch.Tensor:
        if max_length is not None and tensor.shape[-1] < max_length:
            return self._pad_tensors_to_max_len(tensor, max_length)
        if max_new_tokens is not None and tensor.shape[-1] < max_new_tokens + 1:
            return self._pad_tensors_to_max_len(tensor, max_new_tokens + 1)
        return tensor

    def _pad_token_id(self) -> int:
        """The tokenizer's pad (else end-of-sequence) token, else the model's config."""
        tokenizer = self.processing_class
        candidates: list[Any] = []
        if tokenizer is not None and hasattr(tokenizer, "pad_token_id"):
            candidates += [tokenizer.pad_token_id, getattr(tokenizer, "eos_token_id", None)]
        config = getattr(self.model, "config", None)
        generation_config = getattr(self.model, "generation_config", None)
        candidates += [
            getattr(config, "pad_token_id", None),
            getattr(generation_config, "pad_token_id", None),
            getattr(config, "eos_token_id", None),
            getattr(generation_config, "eos_token_id", None),
        ]
        for pad in candidates:
            if isinstance(pad, (list, tuple)):
                pad = pad[0] if pad else None
            if pad is not None:
                return int(pad)
        raise ValueError(
            "Cannot pad generated sequences: no pad token id. Pass a processing_class (tokenizer) "
            "with pad_token_id, or set model.config.pad_token_id (or "
            "model.generation_config.pad_token_id)."
        )

    def _pad_tensors_to_max_len(self, tensor: torch.Tensor, max_length: int) -> torch.Tensor:
        """Right-pad ``tensor`` (batch, length) to ``max_length`` with the pad token id."""
        padded = tensor.new_full((tensor.shape[0], max_length), self._pad_token_id())
        padded[:, : tensor.shape[-1]] = tensor
        return padded


def _is_fsdp_module(module: nn.Module) -> bool:
    """Whether ``module`` is wrapped or managed by FSDP (either version), as transformers checks."""
    if getattr(module, "_is_fsdp_managed_module", False):
        return True
    fsdp = sys.modules.get("torch.distributed.fsdp")
    if fsdp is None:
        return False
    classes = tuple(
        cls
        for cls in (
            getattr(fsdp, "FullyShardedDataParallel", None),
            getattr(fsdp, "FSDPModule", None),
        )
        if cls is not None
    )
    return bool(classes) and isinstance(module, classes)
