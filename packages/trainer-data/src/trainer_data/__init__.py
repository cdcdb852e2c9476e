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

from ._collate import DataCollatorMixin, DefaultDataCollator, default_data_collator
from .columns import RemoveColumnsCollator, remove_unused_columns, signature_columns
from .dataloaders import (
    TrainerDataLoader,
    build_eval_dataloader,
    build_train_dataloader,
    has_length,
    seed_worker,
)
from .iterable import IterableDatasetShard, set_dataset_epoch
from .language_modeling import DataCollatorForLanguageModeling
from .padding import DataCollatorForSeq2Seq, DataCollatorWithPadding
from .resume import skip_first_batches
from .samplers import (
    LengthGroupedSampler,
    SeedableRandomSampler,
    SequentialSampler,
    ShardedBatchSampler,
    get_length_grouped_indices,
)

__version__ = "0.1.0"

__all__ = [
    "DataCollatorForLanguageModeling",
    "DataCollatorForSeq2Seq",
    "DataCollatorMixin",
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
    "default_data_collator",
    "get_length_grouped_indices",
    "has_length",
    "remove_unused_columns",
    "seed_worker",
    "set_dataset_epoch",
    "signature_columns",
    "skip_first_batches",
]
