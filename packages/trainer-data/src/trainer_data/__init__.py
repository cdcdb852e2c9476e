"""Collators, samplers, column handling and dataloaders for the trainer.

The training loop needs three calls::

    loader = build_train_dataloader(dataset, collator, args, model=model,
                                    world_size=world, process_index=rank)
    for epoch in range(epochs):
        epoch_loader = skip_first_batches(loader, done) if resuming_this_epoch else loader
        epoch_loader.set_epoch(epoch)
        for batch in epoch_loader: ...

``datasets`` is optional: nothing here imports it; its objects are recognised when the user
has imported it.
"""

from ._collate import DataCollator, DataCollatorMixin, DefaultDataCollator, default_data_collator
from ._kinds import is_hf_dataset, is_iterable_dataset
from .columns import RemoveColumnsCollator, remove_unused_columns, signature_columns
from .dataloaders import (
    TrainerDataLoader,
    build_eval_dataloader,
    build_train_dataloader,
    dataloader_from_sampler,
    eval_sampler,
    has_length,
    seed_worker,
    train_sampler,
)
from .flattening import DataCollatorWithFlattening
from .iterable import IterableDatasetShard, set_dataset_epoch
from .language_modeling import DataCollatorForLanguageModeling
from .legacy_lm import DataCollatorForSOP, DataCollatorForWholeWordMask
from .padding import DataCollatorForSeq2Seq, DataCollatorWithPadding
from .permutation_lm import DataCollatorForPermutationLanguageModeling
from .resume import skip_first_batches
from .samplers import (
    LengthGroupedSampler,
    SeedableRandomSampler,
    SequentialSampler,
    ShardedBatchSampler,
    get_length_grouped_indices,
)
from .task_padding import DataCollatorForMultipleChoice, DataCollatorForTokenClassification

__version__ = "0.1.0"

__all__ = [
    "DataCollator",
    "DataCollatorForLanguageModeling",
    "DataCollatorForMultipleChoice",
    "DataCollatorForPermutationLanguageModeling",
    "DataCollatorForSOP",
    "DataCollatorForSeq2Seq",
    "DataCollatorForTokenClassification",
    "DataCollatorForWholeWordMask",
    "DataCollatorMixin",
    "DataCollatorWithFlattening",
    "DataCollatorWithPadding",
    "DefaultDataCollator",
    "IterableDatasetShard",
    "LengthGroupedSampler",
    "RemoveColumnsCollator",
    "SeedableRandomSampler",
    "SequentialSampler",
    "ShardedBatchSampler",
    "TrainerDataLoader",
    "build_eval_dataloader",
    "build_train_dataloader",
    "dataloader_from_sampler",
    "default_data_collator",
    "eval_sampler",
    "get_length_grouped_indices",
    "has_length",
    "is_hf_dataset",
    "is_iterable_dataset",
    "remove_unused_columns",
    "seed_worker",
    "set_dataset_epoch",
    "signature_columns",
    "skip_first_batches",
    "train_sampler",
]
