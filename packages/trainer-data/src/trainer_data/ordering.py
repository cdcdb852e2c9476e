"""The order examples are read in: training and evaluation samplers chosen from the arguments."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Sampler, SequentialSampler

from ._kinds import _arg, has_length, is_iterable_dataset
from .samplers import LengthGroupedSampler, SeedableRandomSampler

__all__ = ["eval_sampler", "train_sampler"]

_STRATEGIES = ("random", "sequential", "group_by_length")


def _lengths(dataset: Any, args: Any, model_input_name: str | None) -> list[int] | None:
    """Lengths for group-by-length, read from columns when the dataset has them."""
    names = getattr(dataset, "column_names", None)
    if names is None:
        return None
    column = _arg(args, "length_column_name", "length")
    if column in names:
        return [int(v) for v in dataset[column]]
    key = model_input_name or "input_ids"
    if key in names:
        return [len(v) for v in dataset[key]]
    return None


def _default_seed(args: Any) -> int:
    seed = getattr(args, "data_seed", None)
    return _arg(args, "seed", 42) if seed is None else seed


def train_sampler(
    dataset: Any,
    args: Any,
    *,
    batch_size: int,
    seed: int | None = None,
    model_input_name: str | None = None,
    lengths: list[int] | None = None,
) -> Sampler | None:
    """The training order of ``dataset`` per ``args.train_sampling_strategy``; ``None`` when it has
    no length (iterable datasets).

    ``"random"`` is a :class:`SeedableRandomSampler` (seed: ``seed``, else ``args.data_seed``, else
    ``args.seed``), ``"sequential"`` keeps dataset order, ``"group_by_length"`` is a
    :class:`LengthGroupedSampler` over megabatches of ``batch_size * gradient_accumulation_steps``.
    """
    if dataset is None or is_iterable_dataset(dataset) or not has_length(dataset):
        return None
    seed = _default_seed(args) if seed is None else seed
    strategy = str(_arg(args, "train_sampling_strategy", "random"))
    if strategy not in _STRATEGIES:
        raise ValueError(f"train_sampling_strategy must be one of {_STRATEGIES}, got {strategy!r}.")
    if strategy == "group_by_length":
        accumulation = int(_arg(args, "gradient_accumulation_steps", 1))
        return LengthGroupedSampler(
            batch_size * accumulation,
            dataset=dataset,
            lengths=lengths if lengths is not None else _lengths(dataset, args, model_input_name),
            model_input_name=model_input_name,
            seed=seed,
        )
    if strategy == "sequential":
        return SequentialSampler(dataset)
    return SeedableRandomSampler(dataset, seed)


def eval_sampler(
    dataset: Any,
    args: Any,
    *,
    batch_size: int,
    model_input_name: str | None = None,
    lengths: list[int] | None = None,
) -> Sampler | None:
    """The evaluation order of ``dataset``: dataset order, or length-grouped with a fixed seed when
    ``args.train_sampling_strategy="group_by_length"``; ``None`` for iterable datasets."""
    if dataset is None or is_iterable_dataset(dataset) or not has_length(dataset):
        return None
    if str(_arg(args, "train_sampling_strategy", "random")) == "group_by_length":
        return LengthGroupedSampler(
            batch_size,
            dataset=dataset,
            lengths=lengths if lengths is not None else _lengths(dataset, args, model_input_name),
            model_input_name=model_input_name,
            seed=_default_seed(args),
        )
    return SequentialSampler(dataset)
