"""``evaluate``, ``predict`` and the loop they share (mixed into ``Trainer``)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import torch
from trainer_data import has_length

from .collect import BatchCollector, LossCollector, batch_size_of, detach_nested
from .losses import output_logits
from .metrics import denumpify_detensorize, speed_metrics
from .results import EvalLoopOutput, EvalPrediction, PredictionOutput

logger = logging.getLogger(__name__)


class EvaluationMixin:
    """Evaluation and prediction for ``Trainer``."""

    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> dict[str, float]:
        """Evaluate on ``eval_dataset`` (default: the Trainer's) and return prefixed metrics.

        A dict of datasets evaluates each, prefixing its metrics with ``<prefix>_<name>_``.
        """
        self._memory_tracker.start("eval")
        override = eval_dataset is not None
        datasets = eval_dataset if override else self.eval_dataset
        if isinstance(datasets, dict):
            metrics: dict[str, float] = {}
            for name, dataset in datasets.items():
                metrics.update(
                    self.evaluate(
                        eval_dataset=dataset if override else name,
                        ignore_keys=ignore_keys,
                        metric_key_prefix=f"{metric_key_prefix}_{name}",
                    )
                )
            self._memory_tracker.stop("eval", metrics)
            return metrics
        dataloader = self.get_eval_dataloader(eval_dataset)
        start_time = time.time()
        output = self.evaluation_loop(
            dataloader,
            description="Evaluation",
            prediction_loss_only=True if self.compute_metrics is None else None,
            ignore_keys=ignore_keys,
            metric_key_prefix=metric_key_prefix,
        )
        self._add_speed_metrics(output, metric_key_prefix, start_time)
        self.log(output.metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics=output.metrics
        )
        self._memory_tracker.stop("eval", output.metrics)
        return output.metrics

    def predict(
        self,
        test_dataset: Any,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "test",
    ) -> PredictionOutput:
        """Predict on ``test_dataset``; returns predictions, labels (when present) and metrics."""
        self._memory_tracker.start("test")
        dataloader = self.get_test_dataloader(test_dataset)
        start_time = time.time()
        output = self.evaluation_loop(
            dataloader,
            description="Prediction",
            ignore_keys=ignore_keys,
            metric_key_prefix=metric_key_prefix,
        )
        self._add_speed_metrics(output, metric_key_prefix, start_time)
        self.control = self.callback_handler.on_predict(
            self.args, self.state, self.control, metrics=output.metrics
        )
        self._memory_tracker.stop("test", output.metrics)
        return PredictionOutput(
            predictions=output.predictions, label_ids=output.label_ids, metrics=output.metrics
        )

    def _add_speed_metrics(self, output: EvalLoopOutput, prefix: str, start_time: float) -> None:
        # The runtime leaves out the one-off model preparation reported beside it.
        start_time += output.metrics.get(f"{prefix}_model_preparation_time", 0.0)
        total_batch_size = self.args.eval_batch_size * self.args.world_size
        output.metrics.update(
            speed_metrics(
                prefix,
                start_time,
                num_samples=output.num_samples,
                num_steps=math.ceil(output.num_samples / total_batch_size),
            )
        )

    def evaluation_loop(
        self,
        dataloader: torch.utils.data.DataLoader,
        description: str,
        prediction_loss_only: bool | None = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> EvalLoopOutput:
        """Run the model over ``dataloader`` without gradients, collecting losses, logits and labels."""
        args = self.args
        prediction_loss_only = (
            prediction_loss_only if prediction_loss_only is not None else args.prediction_loss_only
        )
        model = self._model_for_evaluation()
        batch_size = args.eval_batch_size
        logger.info("***** Running %s *****", description)
        if has_length(dataloader):
            logger.info("  Num examples = %d", self.num_examples(dataloader))
        logger.info("  Batch size = %d", batch_size)
        model.eval()
        if hasattr(self.optimizer, "eval") and callable(self.optimizer.eval):
            self.optimizer.eval()
        self.callback_handler.eval_dataloader = dataloader

        keep_batches = not args.batch_eval_metrics or description == "Prediction"
        include_inputs = "inputs" in args.include_for_metrics
        distributed = self.accelerator.num_processes > 1
        losses = LossCollector(args.eval_do_concat_batches)
        preds = BatchCollector(args.eval_do_concat_batches)
        labels_all = BatchCollector(args.eval_do_concat_batches)
        inputs_all = BatchCollector(args.eval_do_concat_batches)
        metrics = None
        observed = 0
        for step, inputs in enumerate(dataloader):
            observed_size = batch_size_of(inputs)
            if observed_size is not None:
                observed += observed_size
            loss, logits, labels = self.prediction_step(
                model, inputs, prediction_loss_only, ignore_keys=ignore_keys
            )
            if loss is not None:
                losses.add(
                    self._gather_for_metrics(loss.reshape(1)) if distributed else loss,
                    observed_size or batch_size,
                )
            if include_inputs:
                main_input = getattr(self.model, "main_input_name", "input_ids")
                inputs_decode = self._prepare_inputs(inputs)[main_input]
                if distributed:
                    inputs_decode = self._gather_for_metrics(
                        self._pad_across_processes(inputs_decode)
                    )
                if keep_batches:
                    inputs_all.add(inputs_decode)
            if distributed and labels is not None:
                labels = self._pad_across_processes(labels)
            if logits is not None:
                if distributed:
                    logits = self._pad_across_processes(logits)
                if self.preprocess_logits_for_metrics is not None:
                    logits = self.preprocess_logits_for_metrics(logits, labels)
                if distributed:
                    logits = self._gather_for_metrics(logits)
                if keep_batches:
                    preds.add(logits)
            if labels is not None:
                if distributed:
                    labels = self._gather_for_metrics(labels)
                if keep_batches:
                    labels_all.add(labels)
            self.control = self.callback_handler.on_prediction_step(args, self.state, self.control)
            if args.batch_eval_metrics:
                if self.compute_metrics is not None and logits is not None and labels is not None:
                    is_last = has_length(dataloader) and step == len(dataloader) - 1
                    metrics = self.compute_metrics(
                        EvalPrediction(
                            predictions=logits,
                            label_ids=labels,
                            losses=loss if "loss" in args.include_for_metrics else None,
                            inputs=inputs if include_inputs else None,
                        ),
                        compute_result=is_last,
                    )
            elif (
                args.eval_accumulation_steps is not None
                and (step + 1) % args.eval_accumulation_steps == 0
            ):
                for collector in (losses, preds, labels_all, inputs_all):
                    collector.offload()

        num_samples = self._count_samples(dataloader, observed)
        # Several processes pad their last batches to equal size; drop those duplicates.
        limit = num_samples if self.accelerator.num_processes > 1 else None
        all_losses, all_preds = losses.result(limit), preds.result(limit)
        all_labels, all_inputs = labels_all.result(limit), inputs_all.result(limit)
        if (
            self.compute_metrics is not None
            and all_preds is not None
            and all_labels is not None
            and not args.batch_eval_metrics
        ):
            metrics = self.compute_metrics(
                EvalPrediction(
                    predictions=all_preds,
                    label_ids=all_labels,
                    losses=all_losses if "loss" in args.include_for_metrics else None,
                    inputs=all_inputs if include_inputs else None,
                )
            )
        metrics = denumpify_detensorize(metrics or {})
        if isinstance(all_losses, np.ndarray) and all_losses.size:
            metrics[f"{metric_key_prefix}_loss"] = all_losses.mean().item()
        elif isinstance(all_losses, list) and all_losses:
            metrics[f"{metric_key_prefix}_loss"] = np.concatenate(all_losses).mean().item()
        if hasattr(self, "model_preparation_time"):
            metrics[f"{metric_key_prefix}_model_preparation_time"] = self.model_preparation_time
        for key in list(metrics):
            if not key.startswith(f"{metric_key_prefix}_"):
                metrics[f"{metric_key_prefix}_{key}"] = metrics.pop(key)
        return EvalLoopOutput(
            predictions=all_preds, label_ids=all_labels, metrics=metrics, num_samples=num_samples
        )

    def prediction_step(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, Any, Any]:
        """One evaluation batch: returns ``(loss, logits, labels)``, each possibly ``None``."""
        has_labels = bool(self.label_names) and all(
            inputs.get(k) is not None for k in self.label_names
        )
        return_loss = inputs.get("return_loss")
        if return_loss is None:
            return_loss = self.can_return_loss
        loss_without_labels = not self.label_names and return_loss
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            if has_labels or loss_without_labels:
                with self.compute_loss_context_manager():
                    num_items = self._get_num_items_in_batch([inputs], self.args.device)
                    loss, outputs = self.compute_loss(
                        model, inputs, return_outputs=True, num_items_in_batch=num_items
                    )
                loss = loss.detach()
                if loss.ndim:  # a per-device vector (DataParallel); a scalar needs no reduction
                    loss = loss.mean()
            else:
                loss = None
                with self.compute_loss_context_manager():
                    outputs = model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        if ignore_keys is None:
            config = getattr(self.model, "config", None)
            ignore_keys = (
                list(getattr(config, "keys_to_ignore_at_inference", ["past_key_values"]))
                if config is not None
                else []
            )
        labels = None
        if has_labels or loss_without_labels:
            names = self.label_names
            labels = (
                detach_nested(inputs.get(names[0]))
                if len(names) == 1
                else detach_nested(tuple(inputs.get(name) for name in names))
            )
        logits = output_logits(outputs, ignore_keys, has_loss=loss is not None)
        logits = detach_nested(logits[0] if len(logits) == 1 else logits)
        return loss, logits, labels

    def _evaluate(
        self, trial, ignore_keys_for_eval, skip_scheduler: bool = False
    ) -> dict[str, float]:
        metrics = self.evaluate(ignore_keys=ignore_keys_for_eval)
        self._report_to_hp_search(trial, self.state.global_step, metrics)
        if (
            isinstance(self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            and not skip_scheduler
        ):
            self.lr_scheduler.step(metrics[self._metric_key(metrics)])
        return metrics

    def _metric_key(self, metrics: dict[str, float]) -> str:
        name = self.args.metric_for_best_model or "loss"
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise KeyError(
                f"metric_for_best_model={name!r} looks for '{key}', which the evaluation did not return. "
                f"Available metrics: {sorted(metrics)}. Return it from compute_metrics or choose one of these."
            )
        return key

    def _determine_best_metric(self, metrics: dict[str, float], trial: Any) -> bool:
        if self.args.metric_for_best_model is None:
            return False
        value = metrics[self._metric_key(metrics)]
        greater = bool(self.args.greater_is_better)
        if self.state.best_metric is None:
            self.state.best_metric = float("-inf") if greater else float("inf")
        better = value > self.state.best_metric if greater else value < self.state.best_metric
        if not better:
            return False
        self.state.best_metric = value
        self._last_best_step = self.state.global_step
        if str(getattr(self.args.save_strategy, "value", self.args.save_strategy)) in (
            "steps",
            "epoch",
        ):
            self.state.best_global_step = self.state.global_step
        return True

    # ------------------------------------------------------------------------------ helpers

    def _model_for_evaluation(self) -> torch.nn.Module:
        model = self.model_wrapped if self.is_in_train else self.model
        if not getattr(self, "_model_registered", False) and model is self.model:
            # The first evaluation before any training prepares the model; like transformers,
            # the time it took is reported as ``<prefix>_model_preparation_time`` from then on.
            start = time.time()
            if self._needs_accelerate_wrapping():
                model = self.accelerator.prepare_model(model, evaluation_mode=True)
                if model is not self.model:
                    self.model_wrapped = model
            self._model_registered = True
            self.model_preparation_time = round(time.time() - start, 4)
        if not self.is_in_train:
            if self.args.fp16_full_eval:
                model = model.to(dtype=torch.float16, device=self.args.device)
            elif self.args.bf16_full_eval:
                model = model.to(dtype=torch.bfloat16, device=self.args.device)
        return self._wrap_model(model, training=False)

    def _gather_for_metrics(self, tensors: Any) -> Any:
        if self.accelerator.num_processes == 1:
            return tensors
        return self.gather_function(tensors)

    def _pad_across_processes(self, tensors: Any) -> Any:
        if self.accelerator.num_processes == 1:
            return tensors
        return self.accelerator.pad_across_processes(tensors, dim=1, pad_index=-100)

    def _count_samples(self, dataloader, observed: int) -> int:
        dataset = getattr(dataloader, "dataset", None)
        if has_length(dataset):
            count = len(dataset)
        elif has_length(dataloader):
            count = self.num_examples(dataloader)
        else:
            count = observed
        return observed if count == 0 and observed > 0 else count
