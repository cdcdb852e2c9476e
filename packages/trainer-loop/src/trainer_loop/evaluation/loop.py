"""``evaluate``, ``predict`` and the loop they share (mixed into ``Trainer``)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import torch
from trainer_data import has_length

from ..losses import output_logits
from ..metrics import denumpify_detensorize, speed_metrics
from ..results import EvalLoopOutput, EvalPrediction, PredictionOutput
from .collect import BatchCollector, LossCollector, batch_size_of, detach_nested
from .plan import LoopPlan, LoopSetupMixin

logger = logging.getLogger(__name__)


class EvaluationMixin(LoopSetupMixin):
    """Evaluation and prediction for ``Trainer``."""

    def _init_evaluation(self) -> None:
        """What this mixin keeps between calls (called once by ``Trainer.__init__``)."""
        self._init_model_preparation()
        self._loop_plan: LoopPlan | None = None

    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> dict[str, float]:
        """Evaluate on ``eval_dataset`` (default: the Trainer's) and return prefixed metrics.

        A dict of datasets evaluates each, prefixing its metrics with ``<prefix>_<name>_``.
        """
        self._memory_start("eval")
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
            self._memory_stop("eval", metrics)
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
        self._memory_stop("eval", output.metrics)
        return output.metrics

    def predict(
        self,
        test_dataset: Any,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "test",
    ) -> PredictionOutput:
        """Predict on ``test_dataset``; returns predictions, labels (when present) and metrics."""
        self._memory_start("test")
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
        self._memory_stop("test", output.metrics)
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

        include_inputs = "inputs" in args.include_for_metrics
        collectors = (
            LossCollector(args.eval_do_concat_batches),
            BatchCollector(args.eval_do_concat_batches),
            BatchCollector(args.eval_do_concat_batches),
            BatchCollector(args.eval_do_concat_batches),
        )
        losses, preds, labels_all, inputs_all = collectors
        self._loop_plan = self._plan_loop()
        try:
            observed, metrics = self._prediction_batches(
                model,
                dataloader,
                prediction_loss_only,
                ignore_keys,
                keep_batches=not args.batch_eval_metrics or description == "Prediction",
                collectors=collectors,
            )
        finally:
            self._loop_plan = None

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
        if self.model_preparation_time is not None:
            metrics[f"{metric_key_prefix}_model_preparation_time"] = self.model_preparation_time
        for key in list(metrics):
            if not key.startswith(f"{metric_key_prefix}_"):
                metrics[f"{metric_key_prefix}_{key}"] = metrics.pop(key)
        return EvalLoopOutput(
            predictions=all_preds, label_ids=all_labels, metrics=metrics, num_samples=num_samples
        )

    def _prediction_batches(
        self,
        model: torch.nn.Module,
        dataloader: Any,
        prediction_loss_only: bool,
        ignore_keys: list[str] | None,
        keep_batches: bool,
        collectors: tuple[LossCollector, BatchCollector, BatchCollector, BatchCollector],
    ) -> tuple[int, dict[str, Any] | None]:
        """Every batch through ``prediction_step`` into the collectors (losses, logits, labels,
        inputs); returns the samples seen and, with ``batch_eval_metrics``, the last metrics."""
        args = self.args
        losses, preds, labels_all, inputs_all = collectors
        include_inputs = "inputs" in args.include_for_metrics
        distributed = self.accelerator.num_processes > 1
        batch_size = args.eval_batch_size
        metrics = None
        observed = 0
        plan = self._loop_plan
        step_listened = plan is None or plan.step_listened
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
            if step_listened:
                self.control = self.callback_handler.on_prediction_step(
                    args, self.state, self.control
                )
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
                for collector in collectors:
                    collector.offload()
        return observed, metrics

    def prediction_step(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, Any, Any]:
        """One evaluation batch: returns ``(loss, logits, labels)``, each possibly ``None``."""
        label_names = self.label_names
        has_labels = bool(label_names)
        for name in label_names:
            if inputs.get(name) is None:
                has_labels = False
                break
        return_loss = inputs.get("return_loss")
        if return_loss is None:
            return_loss = self.can_return_loss
        loss_without_labels = not label_names and return_loss
        plan = self._loop_plan
        if plan is None or not plan.inputs_stay:
            inputs = self._prepare_inputs(inputs)
        no_grad = None if plan is None else plan.no_grad
        with self._loss_context_without_grad() if no_grad is None else no_grad:
            if has_labels or loss_without_labels:
                num_items = None  # unless the loss takes the batch's label-token count
                if plan is None or plan.counts_items:
                    device = self.args.device if plan is None else plan.device
                    num_items = self._get_num_items_in_batch([inputs], device)
                loss, outputs = self.compute_loss(
                    model, inputs, return_outputs=True, num_items_in_batch=num_items
                )
                if loss.requires_grad:  # under no_grad it is outside autograd already
                    loss = loss.detach()
                if loss.ndim:  # a per-device vector (DataParallel); a scalar needs no reduction
                    loss = loss.mean()
            else:
                loss = None
                outputs = model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        labels = None
        if has_labels or loss_without_labels:
            labels = detach_nested(
                inputs.get(label_names[0])
                if len(label_names) == 1
                else tuple(inputs.get(name) for name in label_names)
            )
        has_loss = loss is not None
        if ignore_keys is not None:
            skipped = frozenset(ignore_keys) | ({"loss"} if has_loss else set())
        elif plan is not None:
            skipped = plan.ignored_outputs[has_loss]
        else:
            skipped = self._default_ignored_outputs(has_loss)
        logits = output_logits(outputs, skipped, has_loss)
        return loss, detach_nested(logits[0] if len(logits) == 1 else logits), labels

    # ------------------------------------------------------------------------------ helpers

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
