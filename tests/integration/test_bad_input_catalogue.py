"""A catalogue of bad inputs a new user might give, each with the message it must produce.

Every case is classified the same way:

* ``clear``: the expected exception (or warning) came, and its message names what is wrong;
* ``deep``: something was raised, but not the expected error (a crash from deep inside torch,
  a bare ``TypeError`` on ``'<'``, ...);
* ``silent``: nothing was said and the run went on (or the behaviour asserted after it was wrong).

The tests assert that every case is ``clear``. Run the file as a script to print the counts:
``uv run --no-sync python tests/integration/test_bad_input_catalogue.py`` (with
``CATALOGUE_LIB=transformers`` to run the same inputs through transformers).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.models import RegressionDataset, RegressionModel  # noqa: E402

WARNING = "warning"
#: No error is expected: the value is accepted (parsed) and the checks after the action pass.
ACCEPTED = "accepted"


@dataclass
class Case:
    """One bad input: ``action(tmp)`` performs it; ``expect`` is an exception type or WARNING."""

    name: str
    action: Callable[[Path], None]
    expect: type[BaseException] | str
    match: str


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def classify(case: Case, tmp: Path) -> tuple[str, str]:
    """Run ``case`` in ``tmp``; return (``clear``/``deep``/``silent``, what was seen)."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                case.action(tmp)
                error = None
            except AssertionError as err:  # the behaviour checked after the action was wrong
                return "silent", f"wrong behaviour: {err}"
            except Exception as err:  # noqa: BLE001 - classifying every failure is the point
                error = err
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    said = handler.messages + [str(w.message) for w in caught]
    if case.expect == ACCEPTED:
        return (
            ("clear", "accepted") if error is None else ("deep", f"{type(error).__name__}: {error}")
        )
    if case.expect == WARNING:
        if error is not None:
            return "deep", f"{type(error).__name__}: {error}"
        hits = [m for m in said if re.search(case.match, m)]
        return ("clear", hits[0]) if hits else ("silent", "; ".join(said)[:300])
    if error is None:
        return "silent", "; ".join(said)[:300]
    if isinstance(error, case.expect) and re.search(case.match, str(error)):
        return "clear", f"{type(error).__name__}: {error}"
    return "deep", f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------------------------ builders


def _library():
    """The library under test: ours, or transformers with CATALOGUE_LIB=transformers (script only)."""
    import importlib

    return importlib.import_module(os.environ.get("CATALOGUE_LIB", "trainer"))


def _args(tmp: Path, **overrides):
    TrainingArguments = _library().TrainingArguments

    settings = dict(
        output_dir=str(tmp / "out"),
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
    )
    settings.update(overrides)
    return TrainingArguments(**settings)


def _trainer(tmp: Path, model=None, callbacks=None, length: int = 32, **overrides):
    Trainer = _library().Trainer

    return Trainer(
        model=model if model is not None else RegressionModel(),
        args=_args(tmp, **overrides),
        train_dataset=RegressionDataset(length=length),
        callbacks=callbacks,
    )


def _checkpointed_run(tmp: Path, **overrides) -> Path:
    """Train 4 steps with a checkpoint every 2; returns the output folder."""
    settings = dict(max_steps=4, save_strategy="steps", save_steps=2, logging_steps=1)
    settings.update(overrides)
    _trainer(tmp, **settings).train()
    return tmp / "out"


def _recorder():
    TrainerCallback = _library().TrainerCallback

    class Recorder(TrainerCallback):
        def __init__(self):
            self.steps: list[int] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.steps.append(state.global_step)

    return Recorder()


def _resume(tmp: Path, target, **overrides):
    settings = dict(max_steps=4, save_strategy="steps", save_steps=2, logging_steps=1)
    settings.update(overrides)
    recorder = _recorder()
    trainer = _trainer(tmp, callbacks=[recorder], **settings)
    trainer.train(resume_from_checkpoint=target)
    trainer.steps_taken = recorder.steps
    return trainer


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def arg_value(field: str, value, expected=None):
    """TrainingArguments(field=value) must hold ``expected`` (a parsed string) afterwards."""

    def action(tmp: Path) -> None:
        args = _args(tmp, **{field: value})
        got = getattr(args, field)
        assert got == expected and type(got) is type(expected), f"{field} holds {got!r}"

    return action


def arg_error(**kwargs):
    def action(tmp: Path) -> None:
        _args(tmp, **kwargs)

    return action


def damaged(file_name: str, how: str):
    """Resume by path from a checkpoint whose ``file_name`` is truncated, broken or missing."""

    def action(tmp: Path) -> None:
        out = _checkpointed_run(tmp)
        target = out / "checkpoint-2"
        path = target / file_name
        if how == "truncate":
            _truncate(path)
        elif how == "garbage":
            path.write_text("{ not json")
        else:
            path.unlink()
        _resume(tmp, str(target))

    return action


def newest_damaged(file_name: str, how: str):
    """resume=True with the newest checkpoint damaged: the previous one is used."""

    def action(tmp: Path) -> None:
        out = _checkpointed_run(tmp, max_steps=6)
        path = out / "checkpoint-6" / file_name
        _truncate(path) if how == "truncate" else path.unlink()
        trainer = _resume(tmp, True, max_steps=6)
        # resumed from checkpoint-4: exactly two more steps, one new checkpoint-6
        assert trainer.state.global_step == 6
        assert trainer.steps_taken == [5, 6], trainer.steps_taken

    return action


def _finished_run_trains_nothing(tmp: Path) -> None:
    out = _checkpointed_run(tmp, max_steps=3, save_steps=3)
    before = sorted(p.name for p in out.iterdir())
    trainer = _resume(tmp, True, max_steps=3, save_steps=3)
    assert trainer.state.global_step == 3, trainer.state.global_step
    assert trainer.steps_taken == [], trainer.steps_taken
    assert not [e for e in trainer.state.log_history if "loss" in e and e["step"] > 3]
    assert sorted(p.name for p in out.iterdir()) == before
    assert trainer.state.log_history[-1].get("train_loss") is not None


class NaNAt(RegressionModel):
    """A regression model whose loss is NaN on the ``at``-th forward pass (1-based)."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, input_x, labels=None, **kwargs):
        self.calls += 1
        out = super().forward(input_x, labels)
        if labels is not None and self.calls == self.at:
            return (out[0] * float("nan"), *out[1:])
        return out


def _nan_loss_warns(tmp: Path) -> None:
    _trainer(tmp, model=NaNAt(3), max_steps=8, logging_steps=4).train()


def _nan_keeps_finite_checkpoint(tmp: Path) -> None:
    from safetensors.torch import load_file

    trainer = _trainer(
        tmp, model=NaNAt(5), max_steps=10, save_strategy="steps", save_steps=2, save_total_limit=2
    )
    trainer.train()
    finite = []
    for folder in sorted((tmp / "out").glob("checkpoint-*")):
        weights = load_file(str(folder / "model.safetensors"))
        if all(torch.isfinite(t).all() for t in weights.values()):
            finite.append(folder.name)
    assert finite == ["checkpoint-4"], finite


def _callback_42(tmp: Path) -> None:
    _trainer(tmp, callbacks=[42], max_steps=1).train()


def _callback_str(tmp: Path) -> None:
    _trainer(tmp, callbacks=["EarlyStoppingCallback"], max_steps=1).train()


def _output_dir_is_file(tmp: Path) -> None:
    (tmp / "out").write_text("a file")
    _trainer(tmp, max_steps=1).train()


def _output_dir_under_file(tmp: Path) -> None:
    (tmp / "file").write_text("a file")
    _trainer(tmp, output_dir=str(tmp / "file" / "out"), max_steps=1).train()


def _resume_model_only_folder(tmp: Path) -> None:
    trainer = _trainer(tmp, max_steps=1)
    trainer.train()
    trainer.save_model(str(tmp / "final"))
    _resume(tmp, str(tmp / "final"))


def _bf16_without_gpu(tmp: Path) -> None:
    if torch.cuda.is_available():
        raise ValueError("bf16: the GPU case is not checked here")
    _ = _args(tmp, bf16=True, use_cpu=False).device


def _resume_missing_folder(tmp: Path) -> None:
    _resume(tmp, str(tmp / "out" / "checkpoint-9"))


def _fp16_on_cpu(tmp: Path) -> None:
    """fp16=True with use_cpu=True trains in float32: it must say so (and name bf16)."""
    _trainer(tmp, fp16=True, max_steps=1).train()


def _resume_true_nothing(tmp: Path) -> None:
    _resume(tmp, True)


def _adapter_checkpoint_accepted(tmp: Path) -> None:
    """A folder whose weights are adapter files is a checkpoint too (nothing to refuse)."""
    from trainer_loop.checkpointing.files import has_model_weights

    out = _checkpointed_run(tmp)
    folder = out / "checkpoint-2"
    (folder / "model.safetensors").rename(folder / "adapter_model.safetensors")
    assert has_model_weights(str(folder)), "adapter_model.safetensors not seen as weights"


V = ValueError
CASES = [
    # -- numbers given as strings: parsed as the command-line parser would
    Case("num_train_epochs='3'", arg_value("num_train_epochs", "3", 3.0), ACCEPTED, ""),
    Case("save_total_limit='2'", arg_value("save_total_limit", "2", 2), ACCEPTED, ""),
    Case("grad_accum='2'", arg_value("gradient_accumulation_steps", "2", 2), ACCEPTED, ""),
    Case("batch_size='8'", arg_value("per_device_train_batch_size", "8", 8), ACCEPTED, ""),
    Case("learning_rate='1e-4'", arg_value("learning_rate", "1e-4", 1e-4), ACCEPTED, ""),
    Case("seed='3'", arg_value("seed", "3", 3), ACCEPTED, ""),
    Case("max_steps='10'", arg_value("max_steps", "10", 10), ACCEPTED, ""),
    Case("logging_steps='10'", arg_value("logging_steps", "10", 10), ACCEPTED, ""),
    Case("warmup_steps='10'", arg_value("warmup_steps", "10", 10.0), ACCEPTED, ""),
    Case("num_workers='2'", arg_value("dataloader_num_workers", "2", 2), ACCEPTED, ""),
    Case("fp16='False'", arg_value("fp16", "False", False), ACCEPTED, ""),
    Case("ddp_timeout='100'", arg_value("ddp_timeout", "100", 100), ACCEPTED, ""),
    # -- strings that are not numbers
    Case("learning_rate='fast'", arg_error(learning_rate="fast"), V, r"learning_rate='fast'"),
    Case("seed='abc'", arg_error(seed="abc"), V, r"seed='abc'.*integer"),
    Case("save_total_limit='two'", arg_error(save_total_limit="two"), V, r"save_total_limit"),
    Case("logging_steps='ten'", arg_error(logging_steps="ten"), V, r"logging_steps='ten'"),
    Case("num_train_epochs='3.5x'", arg_error(num_train_epochs="3.5x"), V, r"num_train_epochs"),
    Case("fp16='maybe'", arg_error(fp16="maybe"), V, r"fp16='maybe'.*true"),
    Case("max_steps='1e3'", arg_error(max_steps="1e3"), V, r"max_steps='1e3'.*integer"),
    # -- wrong kinds of number
    Case("batch_size=8.5", arg_error(per_device_train_batch_size=8.5), V, r"batch_size=8.5"),
    Case("seed=1.5", arg_error(seed=1.5), V, r"seed=1.5.*integer"),
    Case("max_steps=2.5", arg_error(max_steps=2.5), V, r"max_steps=2.5"),
    Case("batch_size=8.0", arg_error(per_device_train_batch_size=8.0), V, r"size=8.0.*not a float"),
    Case("empty_cache=1.0", arg_error(torch_empty_cache_steps=1.0), V, r"steps=1.0.*integer"),
    Case("save_total_limit=2.0", arg_value("save_total_limit", 2.0, 2), ACCEPTED, ""),
    Case("learning_rate=True", arg_error(learning_rate=True), V, r"learning_rate=True"),
    Case("learning_rate=nan", arg_error(learning_rate=float("nan")), V, r"learning_rate=nan"),
    Case("epochs=nan", arg_error(num_train_epochs=float("nan")), V, r"num_train_epochs=nan"),
    # -- ranges
    Case("learning_rate<0", arg_error(learning_rate=-1e-3), V, r"learning_rate=-0.001.*>= 0"),
    Case("adam_beta1=1", arg_error(adam_beta1=1.0), V, r"adam_beta1=1.0.*\[0, 1\)"),
    Case("adam_beta2<0", arg_error(adam_beta2=-0.1), V, r"adam_beta2=-0.1.*\[0, 1\)"),
    Case("adam_epsilon<0", arg_error(adam_epsilon=-1.0), V, r"adam_epsilon=-1.0"),
    Case("weight_decay<0", arg_error(weight_decay=-0.1), V, r"weight_decay=-0.1"),
    Case("label_smoothing=1", arg_error(label_smoothing_factor=1.0), V, r"label_smoothing"),
    Case("label_smoothing<0", arg_error(label_smoothing_factor=-0.1), V, r"label_smoothing"),
    Case("max_grad_norm<0", arg_error(max_grad_norm=-1.0), V, r"max_grad_norm=-1.0"),
    Case("save_total_limit<0", arg_error(save_total_limit=-1), V, r"save_total_limit=-1"),
    Case("epochs=0", arg_error(num_train_epochs=0), V, r"num_train_epochs=0.*max_steps"),
    Case("epochs<0", arg_error(num_train_epochs=-1.0), V, r"num_train_epochs=-1.0"),
    Case("batch_size=0", arg_error(per_device_train_batch_size=0), V, r"batch_size=0"),
    Case("grad_accum=0", arg_error(gradient_accumulation_steps=0), V, r"accumulation_steps=0"),
    Case("eval_accum=0", arg_error(eval_accumulation_steps=0), V, r"eval_accumulation_steps=0"),
    Case("warmup_ratio=2", arg_error(warmup_ratio=2.0), V, r"warmup_ratio=2.0"),
    Case("num_workers<0", arg_error(dataloader_num_workers=-1), V, r"dataloader_num_workers"),
    Case("logging_steps<0", arg_error(logging_steps=-5), V, r"logging_steps=-5"),
    Case("save_steps=0", arg_error(save_strategy="steps", save_steps=0), V, r"save_steps=0"),
    Case("seed<0", arg_error(seed=-1), V, r"seed=-1.*2\*\*32"),
    Case("seed>=2**32", arg_error(seed=2**32), V, r"seed=4294967296"),
    Case("data_seed<0", arg_error(data_seed=-3), V, r"data_seed=-3"),
    Case("ddp_timeout<0", arg_error(ddp_timeout=-5), V, r"ddp_timeout=-5"),
    Case("eval_delay<0", arg_error(eval_delay=-1), V, r"eval_delay=-1"),
    Case("neftune_alpha<0", arg_error(neftune_noise_alpha=-1.0), V, r"neftune_noise_alpha=-1.0"),
    Case(
        "prefetch_factor=0",
        arg_error(dataloader_prefetch_factor=0, dataloader_num_workers=1),
        V,
        r"dataloader_prefetch_factor=0",
    ),
    Case("bf16 without a GPU", _bf16_without_gpu, V, r"bf16.*use_cpu"),
    Case("fp16 on the CPU", _fp16_on_cpu, WARNING, r"fp16=True is not used on the CPU.*bf16"),
    # -- the trainer and its folders
    Case("callbacks=[42]", _callback_42, TypeError, r"42.*TrainerCallback"),
    Case("callbacks=['name']", _callback_str, TypeError, r"EarlyStoppingCallback.*TrainerCallback"),
    Case("output_dir is a file", _output_dir_is_file, V, r"output_dir=.*is a file"),
    Case("output_dir under a file", _output_dir_under_file, V, r"output_dir=.*not writable"),
    # -- resuming
    Case("resume: no such folder", _resume_missing_folder, V, r"checkpoint-9.*does not exist"),
    Case("resume=True: nothing saved", _resume_true_nothing, V, r"no valid checkpoint"),
    Case(
        "resume: no trainer_state",
        damaged("trainer_state.json", "unlink"),
        V,
        r"trainer_state\.json",
    ),
    Case("resume: final model folder", _resume_model_only_folder, V, r"trainer_state\.json"),
    Case(
        "resume: broken trainer_state",
        damaged("trainer_state.json", "garbage"),
        V,
        r"trainer_state\.json.*(JSON|json)",
    ),
    Case(
        "resume: truncated weights",
        damaged("model.safetensors", "truncate"),
        V,
        r"model\.safetensors.*(truncated|damaged)",
    ),
    Case(
        "resume: truncated rng_state",
        damaged("rng_state.pth", "truncate"),
        V,
        r"rng_state\.pth.*(truncated|damaged)",
    ),
    Case(
        "resume: truncated optimizer",
        damaged("optimizer.pt", "truncate"),
        V,
        r"optimizer\.pt.*(truncated|damaged)",
    ),
    Case(
        "resume: no optimizer.pt",
        damaged("optimizer.pt", "unlink"),
        WARNING,
        r"optimizer\.pt.*not exact",
    ),
    Case(
        "resume: no scheduler.pt",
        damaged("scheduler.pt", "unlink"),
        WARNING,
        r"scheduler\.pt.*not exact",
    ),
    Case(
        "resume: no rng_state.pth",
        damaged("rng_state.pth", "unlink"),
        WARNING,
        r"rng_state.*not exact",
    ),
    Case(
        "resume=True: newest truncated",
        newest_damaged("model.safetensors", "truncate"),
        WARNING,
        r"checkpoint-6.*model\.safetensors",
    ),
    Case(
        "resume=True: newest lacks state",
        newest_damaged("trainer_state.json", "unlink"),
        WARNING,
        r"checkpoint-6.*trainer_state\.json",
    ),
    Case("resume a finished run", _finished_run_trains_nothing, WARNING, r"already"),
    Case("adapter checkpoint", _adapter_checkpoint_accepted, ACCEPTED, ""),
    # -- non-finite losses
    Case("NaN loss", _nan_loss_warns, WARNING, r"[Nn]on-finite.*step 3"),
    Case("NaN loss and rotation", _nan_keeps_finite_checkpoint, WARNING, r"checkpoint-4.*finite"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_reported_clearly(case: Case, tmp_path: Path) -> None:
    verdict, seen = classify(case, tmp_path)
    assert verdict == "clear", f"{case.name}: {verdict} ({seen})"


def main() -> None:
    counts = {"clear": 0, "deep": 0, "silent": 0}
    rows = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            verdict, seen = classify(case, Path(tmp))
        counts[verdict] += 1
        rows.append({"case": case.name, "verdict": verdict, "seen": seen[:240]})
        print(f"{verdict:7} {case.name:34} {seen[:110]}")
    print(json.dumps(counts))
    out = os.environ.get("CATALOGUE_JSON")
    if out:
        Path(out).write_text(json.dumps({"counts": counts, "cases": rows}, indent=1))


if __name__ == "__main__":
    main()
