"""The Trainer's hooks are a contract: a subclass that overrides one sees its override used.

One test per hook (docs/extending.md lists them): the override records that it ran and changes
something observable, and the test checks both. Signatures are checked against transformers 5.3.0.
"""

from __future__ import annotations

import inspect
import os
import re

import pytest
import torch
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from torch.utils.data import SequentialSampler
from trainer_loop import Trainer

#: Hooks transformers 5.3.0's Trainer defines that subclasses override or call.
HOOKS = [
    "_set_signature_columns_if_needed",
    "_remove_unused_columns",
    "_get_collator_with_removed_columns",
    "_get_train_sampler",
    "_get_eval_sampler",
    "_get_dataloader",
    "_wrap_model",
    "_inner_training_loop",
    "_load_from_checkpoint",
    "_load_best_model",
    "_issue_warnings_after_load",
    "_maybe_log_save_evaluate",
    "_load_rng_state",
    "_save_checkpoint",
    "_load_optimizer_and_scheduler",
    "_prepare_input",
    "_prepare_inputs",
    "_save",
    "_hp_search_setup",
    "_report_to_hp_search",
    "_get_output_dir",
    "_push_from_checkpoint",
    "_move_model_to_device",
    "_get_num_items_in_batch",
    "_clip_grad_norm",
    "_get_grad_norm",
    "compute_loss",
    "training_step",
    "prediction_step",
    "evaluation_loop",
    "log",
    "create_optimizer",
    "create_scheduler",
    "create_model_card",
    "get_train_dataloader",
    "get_eval_dataloader",
    "get_test_dataloader",
]


def _names(signature: inspect.Signature) -> list[str]:
    return [p.name for p in signature.parameters.values()]


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_transformers_signature(name):
    transformers = pytest.importorskip("transformers")
    theirs = getattr(transformers.Trainer, name)
    ours = getattr(Trainer, name)
    assert _names(inspect.signature(ours)) == _names(inspect.signature(theirs))


def test_private_helpers_never_shadow_a_subclass_name():
    """Names our Trainer defines that TRL/sentence-transformers define too mean the same thing
    as in transformers (else an override or a helper of ours would clash)."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("trl")
    import glob

    import trl

    ours = {n for n in dir(Trainer) if n.startswith("_") and not n.startswith("__")}
    theirs = set(dir(transformers.Trainer))
    roots = [os.path.join(os.path.dirname(trl.__file__), "trainer")]
    try:
        import sentence_transformers

        roots.append(os.path.dirname(sentence_transformers.__file__))
    except ImportError:
        pass
    defined: set[str] = set()
    for root in roots:
        for path in glob.glob(os.path.join(root, "**", "*.py"), recursive=True):
            with open(path, encoding="utf-8") as handle:
                defined |= set(re.findall(r"def (_[a-z][a-z0-9_]*)\(", handle.read()))
    clashes = sorted((ours & defined) - theirs)
    assert not clashes, f"our private names also defined by subclasses: {clashes}"


# --------------------------------------------------------------------------- helpers


def make(tmp_path, cls=Trainer, **overrides):
    args = cpu_args(tmp_path, **{"max_steps": 4, "learning_rate": 0.1, **overrides})
    return cls(
        model=RegressionModel(),
        args=args,
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=1),
    )


def hf_dataset(n=16):
    datasets = pytest.importorskip("datasets")
    data = RegressionDataset(length=n)
    return datasets.Dataset.from_dict(
        {
            "input_x": data.x.tolist(),
            "labels": data.ys.tolist(),
            "extra": [1.0] * n,
            "junk": ["j"] * n,
        }
    )


class KeysSeen:
    """A collator recording the keys of every example it sees."""

    def __init__(self):
        self.keys: set[str] = set()

    def __call__(self, examples):
        self.keys |= set(examples[0])
        keep = [{k: v for k, v in e.items() if k in ("input_x", "labels")} for e in examples]
        return {k: torch.tensor([e[k] for e in keep]) for k in keep[0]}


# --------------------------------------------------------------------------- columns


def test_set_signature_columns_override_decides_the_columns(tmp_path):
    class KeepExtra(Trainer):
        def _set_signature_columns_if_needed(self):
            if self._signature_columns is None:
                self._signature_columns = ["input_x", "labels", "extra"]

    collator = KeysSeen()
    run = KeepExtra(
        model=RegressionModel(),
        args=cpu_args(tmp_path, max_steps=1),
        train_dataset=hf_dataset(),
        data_collator=collator,
    )
    run.train()
    assert collator.keys == {"input_x", "labels", "extra"}  # junk dropped, extra kept


def test_remove_unused_columns_override_is_used_for_datasets(tmp_path):
    calls = []

    class Recorder(Trainer):
        def _remove_unused_columns(self, dataset, description=None):
            calls.append(description)
            return dataset.remove_columns(["junk", "extra"])

    collator = KeysSeen()
    run = Recorder(
        model=RegressionModel(),
        args=cpu_args(tmp_path, max_steps=1),
        train_dataset=hf_dataset(),
        data_collator=collator,
    )
    run.train()
    assert calls == ["Training"]
    assert collator.keys == {"input_x", "labels"}


def test_collator_with_removed_columns_override_is_used_for_other_datasets(tmp_path):
    wrapped = []

    class Recorder(Trainer):
        def _get_collator_with_removed_columns(self, data_collator, description=None):
            wrapped.append(description)
            return super()._get_collator_with_removed_columns(data_collator, description)

    make(tmp_path, Recorder).train()
    assert wrapped == ["Training"]


# --------------------------------------------------------------------------- samplers, loaders


def _recording_model():
    model = RegressionModel()
    model.seen = []
    original = model.forward

    def forward(input_x, labels=None, **kwargs):
        model.seen.append(input_x.detach().clone())
        return original(input_x, labels, **kwargs)

    model.forward = forward
    return model


def test_train_sampler_override_sets_the_order(tmp_path):
    class Backwards(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            return list(range(len(dataset)))[::-1]

    data = RegressionDataset(length=8)
    model = _recording_model()
    run = Backwards(model=model, args=cpu_args(tmp_path, max_steps=2), train_dataset=data)
    run.train()
    expected = torch.tensor(data.x[::-1].copy())
    assert torch.equal(torch.cat(model.seen), expected)


def test_eval_sampler_override_sets_the_prediction_order(tmp_path):
    class Backwards(Trainer):
        def _get_eval_sampler(self, eval_dataset):
            return list(range(len(eval_dataset)))[::-1]

    data = RegressionDataset(length=8)
    run = Backwards(model=RegressionModel(a=1.0), args=cpu_args(tmp_path))
    predictions = run.predict(data).predictions
    assert torch.allclose(torch.as_tensor(predictions), torch.tensor(data.x[::-1].copy()))


def test_get_dataloader_is_what_the_public_loaders_call(tmp_path):
    calls = []

    class Recorder(Trainer):
        def _get_dataloader(
            self,
            dataset,
            description,
            batch_size,
            sampler_fn=None,
            is_training=False,
            dataloader_key=None,
        ):
            calls.append((description, batch_size, is_training, dataloader_key))
            return super()._get_dataloader(
                dataset, description, batch_size, sampler_fn, is_training, dataloader_key
            )

    run = make(tmp_path, Recorder, per_device_eval_batch_size=2)
    run.get_train_dataloader()
    run.get_eval_dataloader()
    run.get_test_dataloader(RegressionDataset(length=4))
    assert calls == [
        ("Training", 4, True, None),
        ("Evaluation", 2, False, "eval"),
        ("test", 2, False, None),
    ]


def test_eval_dataloader_is_reused_with_persistent_workers(tmp_path):
    run = make(tmp_path, dataloader_persistent_workers=True, dataloader_num_workers=1)
    assert run.get_eval_dataloader() is run.get_eval_dataloader()
    plain = make(tmp_path)
    assert plain.get_eval_dataloader() is not plain.get_eval_dataloader()


# --------------------------------------------------------------------------- model and inputs


def test_wrap_model_override_wraps_training_and_evaluation(tmp_path):
    class Counting(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.module = inner
            self.calls = 0

        def forward(self, **kwargs):
            self.calls += 1
            return self.module(**kwargs)

    wrappers = []

    class Wrapping(Trainer):
        def _wrap_model(self, model, training=True, dataloader=None):
            if isinstance(model, Counting):
                return model
            wrappers.append(Counting(model))
            return wrappers[-1]

    run = make(tmp_path, Wrapping)
    run.train()
    assert wrappers[0].calls == 4
    run.evaluate()
    assert wrappers[-1].calls > 0


def test_move_model_to_device_is_used_at_construction(tmp_path):
    moved = []

    class Recorder(Trainer):
        def _move_model_to_device(self, model, device):
            moved.append(device)
            super()._move_model_to_device(model, device)

    make(tmp_path, Recorder)
    assert moved == [torch.device("cpu")]


def test_prepare_input_override_runs_on_cpu_too(tmp_path):
    class Doubling(Trainer):
        def _prepare_input(self, data):
            if isinstance(data, torch.Tensor) and data.is_floating_point():
                return data * 0  # inputs and labels zeroed: the loss becomes b**2
            return super()._prepare_input(data)

    run = make(tmp_path, Doubling, max_steps=1, learning_rate=0.0)
    run.train()
    assert run.state.log_history[-1]["train_loss"] == pytest.approx(0.0)


def test_prepare_inputs_override_is_used_for_training_and_evaluation(tmp_path):
    seen = []

    class Recorder(Trainer):
        def _prepare_inputs(self, inputs):
            seen.append(self.model.training)
            return super()._prepare_inputs(inputs)

    run = make(tmp_path, Recorder, max_steps=2, per_device_eval_batch_size=8)
    run.train()
    run.evaluate()
    assert seen == [True, True, False]


def test_num_items_in_batch_override_reaches_the_loss(tmp_path):
    received = []

    class Counting(Trainer):
        def _get_num_items_in_batch(self, batch_samples, device):
            return torch.tensor(7)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            received.append(int(num_items_in_batch))
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    make(tmp_path, Counting, max_steps=2).train()
    assert received == [7, 7]


def test_clip_and_grad_norm_overrides_are_logged(tmp_path):
    calls = []

    class Recorder(Trainer):
        def _clip_grad_norm(self, model):
            calls.append("clip")
            return super()._clip_grad_norm(model)

        def _get_grad_norm(self, model, grad_norm=None):
            calls.append("norm")
            return 123.0

    run = make(tmp_path, Recorder, max_steps=2, logging_steps=1)
    run.train()
    assert calls == ["clip", "norm", "clip", "norm"]
    assert [e["grad_norm"] for e in run.state.log_history if "grad_norm" in e] == [123.0, 123.0]
    make(tmp_path, Recorder, max_steps=1, max_grad_norm=0).train()
    assert calls[4:] == ["norm"]  # no clipping asked: only the norm to log


def test_sync_gradients_is_set_per_micro_batch(tmp_path):
    flags = []

    class Recorder(Trainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            flags.append(self.accelerator.sync_gradients)
            return super().training_step(model, inputs, num_items_in_batch)

    make(
        tmp_path,
        Recorder,
        max_steps=2,
        gradient_accumulation_steps=3,
        per_device_train_batch_size=2,
    ).train()
    assert flags == [False, False, True, False, False, True]


# --------------------------------------------------------------------------- loop, logs, saves


def test_inner_training_loop_and_maybe_log_save_evaluate_overrides(tmp_path):
    events = []

    class Recorder(Trainer):
        def _inner_training_loop(self, batch_size=None, args=None, **kwargs):
            events.append(("loop", batch_size))
            return super()._inner_training_loop(batch_size=batch_size, args=args, **kwargs)

        def _maybe_log_save_evaluate(self, tr_loss, grad_norm, model, trial, epoch, *rest, **kw):
            events.append(("log", isinstance(tr_loss, torch.Tensor), self.state.global_step))
            return super()._maybe_log_save_evaluate(
                tr_loss, grad_norm, model, trial, epoch, *rest, **kw
            )

    make(tmp_path, Recorder, max_steps=2, logging_steps=1).train()
    assert events[0] == ("loop", 4)
    assert ("log", True, 1) in events and ("log", True, 2) in events


def test_log_override_receives_the_training_logs(tmp_path):
    logged = []

    class Recorder(Trainer):
        def log(self, logs, start_time=None):
            logged.append(dict(logs))
            super().log(logs, start_time)

    make(tmp_path, Recorder, max_steps=2, logging_steps=1).train()
    assert [e["loss"] for e in logged if "loss" in e] == pytest.approx(
        [e["loss"] for e in logged if "loss" in e]
    )
    assert sum("loss" in e for e in logged) == 2


def test_save_checkpoint_save_and_output_dir_overrides(tmp_path):
    events = []

    class Recorder(Trainer):
        def _get_output_dir(self, trial):
            return str(tmp_path / "elsewhere")

        def _save_checkpoint(self, model, trial):
            events.append(("checkpoint", self.state.global_step))
            super()._save_checkpoint(model, trial)

        def _save(self, output_dir=None, state_dict=None):
            events.append(("save", os.path.basename(output_dir)))
            super()._save(output_dir, state_dict)

    make(tmp_path, Recorder, max_steps=2, save_strategy="steps", save_steps=2).train()
    assert events[0] == ("checkpoint", 2)
    assert events[1][0] == "save"
    assert os.path.isdir(tmp_path / "elsewhere" / "checkpoint-2")


def test_resume_hooks_are_called_with_the_checkpoint(tmp_path):
    make(tmp_path, max_steps=4, save_strategy="steps", save_steps=2).train()
    checkpoint = str(tmp_path / "out" / "checkpoint-2")
    events = []

    class Recorder(Trainer):
        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            events.append(("weights", resume_from_checkpoint))
            super()._load_from_checkpoint(resume_from_checkpoint, model)

        def _issue_warnings_after_load(self, load_result):
            events.append(("warnings", sorted(load_result.missing_keys)))

        def _load_optimizer_and_scheduler(self, checkpoint):
            events.append(("optimizer", checkpoint))
            super()._load_optimizer_and_scheduler(checkpoint)

        def _load_rng_state(self, checkpoint):
            events.append(("rng", checkpoint))
            super()._load_rng_state(checkpoint)

    make(tmp_path, Recorder, max_steps=4).train(resume_from_checkpoint=checkpoint)
    assert events[0] == ("weights", checkpoint)
    assert ("warnings", []) in events
    assert ("optimizer", checkpoint) in events
    assert ("rng", checkpoint) in events


def test_load_best_model_override_runs_at_the_end(tmp_path):
    calls = []

    class Recorder(Trainer):
        def _load_best_model(self):
            calls.append(self.state.best_model_checkpoint)

    make(
        tmp_path,
        Recorder,
        max_steps=4,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="steps",
        save_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model="loss",
    ).train()
    assert len(calls) == 1 and "checkpoint-" in calls[0]


def test_hp_search_hooks(tmp_path):
    events = []

    class Recorder(Trainer):
        def _hp_search_setup(self, trial):
            events.append(("setup", trial))

        def _report_to_hp_search(self, trial, step, metrics):
            events.append(("report", trial, step, "eval_loss" in metrics))

    make(tmp_path, Recorder, max_steps=2, eval_strategy="steps", eval_steps=2).train(
        trial={"seed": 1}
    )
    assert events == [("setup", {"seed": 1}), ("report", {"seed": 1}, 2, True)]


def test_push_from_checkpoint_override_replaces_the_upload(tmp_path):
    pushed = []

    class Recorder(Trainer):
        def init_hf_repo(self, token=None):
            self.hub_model_id = "user/model"

        def _push_from_checkpoint(self, checkpoint_folder):
            pushed.append(os.path.basename(checkpoint_folder))

        def _finish_current_push(self):
            return None

    make(
        tmp_path,
        Recorder,
        max_steps=2,
        save_strategy="steps",
        save_steps=1,
        push_to_hub=True,
        hub_model_id="user/model",
    ).train()
    assert pushed == ["checkpoint-1", "checkpoint-2"]


def test_public_builders_are_overridable(tmp_path):
    class Custom(Trainer):
        def create_optimizer(self, model=None):
            if self.optimizer is None:
                self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.5)
            return self.optimizer

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None:
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)
            return self.lr_scheduler

        def get_train_dataloader(self):
            return torch.utils.data.DataLoader(
                self.train_dataset, batch_size=2, sampler=SequentialSampler(self.train_dataset)
            )

    run = make(tmp_path, Custom, max_steps=2, logging_steps=1)
    run.train()
    assert isinstance(run.optimizer, torch.optim.SGD)
    assert [e["learning_rate"] for e in run.state.log_history if "loss" in e] == [0.5, 0.5]


def test_training_arguments_expose_accelerate_objects(tmp_path):
    run = make(tmp_path)
    args = run.args
    assert str(args.distributed_state.distributed_type) in ("NO", "DistributedType.NO")
    assert args.deepspeed_plugin is None
    assert args.accelerator_config.dispatch_batches is None
    args.accelerator_config.dispatch_batches = False  # TRL sets it like this
    assert args.accelerator_config.dispatch_batches is False


def test_use_configured_state_reuses_the_existing_state(tmp_path):
    from accelerate import PartialState
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    with pytest.raises(ValueError, match="use_configured_state"):
        make(tmp_path, accelerator_config={"use_configured_state": True})
    state = PartialState(cpu=True)
    state.marker = "kept"  # a reset would drop it
    run = make(tmp_path, accelerator_config={"use_configured_state": True})
    assert getattr(PartialState(), "marker", None) == "kept"
    assert run.accelerator.state.device == torch.device("cpu")
    make(tmp_path)  # the default resets the state
    assert getattr(PartialState(), "marker", None) is None
