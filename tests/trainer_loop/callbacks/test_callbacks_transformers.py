"""Side-by-side checks against transformers 5.3.0: flow decisions, trainer_state.json, dispatch."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging

import pytest

pytest.importorskip("transformers")

from trainer_loop.callbacks.base import CallbackHandler, Event  # noqa: E402
from trainer_loop.callbacks.builtin import DefaultFlowCallback, EarlyStoppingCallback  # noqa: E402
from trainer_loop.state import TrainerControl, TrainerState  # noqa: E402
from transformers import TrainingArguments  # noqa: E402
from transformers import trainer_callback as hf  # noqa: E402


def hf_args(tmp_path, **kw):
    return TrainingArguments(output_dir=str(tmp_path), report_to="none", **kw)


FLOW_SETTINGS = [
    dict(logging_steps=3, save_steps=4),
    dict(logging_steps=0.1, save_steps=0.25, eval_strategy="steps", eval_steps=0.2),
    dict(
        logging_first_step=True,
        logging_steps=5,
        eval_strategy="steps",
        eval_steps=2,
        eval_delay=7,
        save_strategy="no",
    ),
    dict(logging_strategy="epoch", eval_strategy="epoch", save_strategy="epoch", eval_delay=2),
    dict(
        logging_strategy="no",
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="best",
        metric_for_best_model="loss",
    ),
    dict(save_strategy="steps", save_steps=100, logging_steps=1),
]


@pytest.mark.parametrize(
    "settings", FLOW_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items())
)
@pytest.mark.parametrize("our_args", [False, True], ids=["hf-args", "trainer_args"])
def test_default_flow_matches_transformers(tmp_path, settings, our_args):
    args = hf_args(tmp_path, **settings)
    ours_args = args
    if our_args:
        trainer_args = pytest.importorskip("trainer_args")
        ours_args = trainer_args.TrainingArguments(
            output_dir=str(tmp_path), report_to="none", **settings
        )
    max_steps, steps_per_epoch = 23, 6
    ours_state, theirs_state = TrainerState(), hf.TrainerState()
    ours_state.compute_steps(ours_args, max_steps)
    theirs_state.compute_steps(args, max_steps)
    assert dataclasses.asdict(ours_state) == dataclasses.asdict(theirs_state)
    ours_state.max_steps = theirs_state.max_steps = max_steps
    ours, theirs = DefaultFlowCallback(), hf.DefaultFlowCallback()
    for step in range(1, max_steps + 1):
        decisions = []
        for flow, flow_args, state, control in (
            (ours, ours_args, ours_state, TrainerControl()),
            (theirs, args, theirs_state, hf.TrainerControl()),
        ):
            state.global_step = step
            state.epoch = step / steps_per_epoch
            flow.on_step_end(flow_args, state, control)
            after_step = dataclasses.asdict(control)
            if step % steps_per_epoch == 0:
                flow.on_epoch_end(flow_args, state, control)
            decisions.append((after_step, dataclasses.asdict(control)))
        assert decisions[0] == decisions[1], f"step {step}"


def test_trainer_state_json_moves_both_ways(tmp_path):
    early = EarlyStoppingCallback(2, 0.1)
    ours = TrainerState(
        epoch=2.5,
        global_step=50,
        max_steps=80,
        logging_steps=10,
        total_flos=123.0,
        log_history=[{"loss": 0.5, "step": 10}],
        best_metric=0.3,
        best_global_step=40,
        best_model_checkpoint=str(tmp_path / "checkpoint-40"),
        trial_params={"lr": 0.1},
        stateful_callbacks=[early, TrainerControl(should_save=True)],
    )
    theirs = hf.TrainerState(
        epoch=2.5,
        global_step=50,
        max_steps=80,
        logging_steps=10,
        total_flos=123.0,
        log_history=[{"loss": 0.5, "step": 10}],
        best_metric=0.3,
        best_global_step=40,
        best_model_checkpoint=str(tmp_path / "checkpoint-40"),
        trial_params={"lr": 0.1},
        stateful_callbacks=[hf.EarlyStoppingCallback(2, 0.1), hf.TrainerControl(should_save=True)],
    )
    ours.save_to_json(tmp_path / "ours.json")
    theirs.save_to_json(str(tmp_path / "theirs.json"))
    ours_text = (tmp_path / "ours.json").read_text()
    theirs_text = (tmp_path / "theirs.json").read_text()
    assert json.loads(ours_text).keys() == json.loads(theirs_text).keys()
    assert ours_text == theirs_text
    assert dataclasses.asdict(
        hf.TrainerState.load_from_json(str(tmp_path / "ours.json"))
    ) == dataclasses.asdict(ours)
    assert TrainerState.load_from_json(tmp_path / "theirs.json") == ours


def test_default_state_fields_match_transformers():
    ours = {f.name: f.default for f in dataclasses.fields(TrainerState)}
    theirs = {f.name: f.default for f in dataclasses.fields(hf.TrainerState)}
    assert ours == theirs
    assert [f.name for f in dataclasses.fields(TrainerControl)] == [
        f.name for f in dataclasses.fields(hf.TrainerControl)
    ]
    assert TrainerControl().state() == hf.TrainerControl().state()


def test_callback_events_match_transformers():
    theirs = {name for name in dir(hf.TrainerCallback) if name.startswith("on_")}
    # on_non_finite is this library's own event; transformers has no such hook.
    assert {e.value for e in Event} - {"on_non_finite"} == theirs


def test_transformers_callbacks_run_in_our_handler(tmp_path, caplog):
    """A transformers callback passed to our handler: its overrides fire, its no-ops are skipped."""

    class Recorder(hf.TrainerCallback):
        def __init__(self):
            self.seen = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.seen.append(logs)

    recorder = Recorder()
    handler = CallbackHandler(
        [DefaultFlowCallback(), recorder, hf.EarlyStoppingCallback()], None, None, None, None
    )
    assert handler.listeners("on_log") == (recorder,)
    assert handler.listeners("on_step_begin") == ()
    assert [type(cb).__name__ for cb in handler.listeners("on_evaluate")] == [
        "EarlyStoppingCallback"
    ]
    handler.on_log(hf_args(tmp_path), TrainerState(), TrainerControl(), logs={"loss": 1.0})
    assert recorder.seen == [{"loss": 1.0}]


def test_same_events_reach_callbacks_as_in_transformers(tmp_path):
    """Our handler and transformers' handler pass the same keyword names for every event."""

    def make(base):
        class KwargRecorder(base):
            def __init__(self):
                self.kwargs = {}

        def handler(name):
            def record(self, args, state, control, **kwargs):
                self.kwargs[name] = sorted(kwargs)

            return record

        for event in Event:
            if event is not Event.on_non_finite:
                setattr(KwargRecorder, event.value, handler(event.value))
        return KwargRecorder()

    ours_cb, theirs_cb = make(hf.TrainerCallback), make(hf.TrainerCallback)
    ours = CallbackHandler([DefaultFlowCallback(), ours_cb], "m", "p", "o", "s")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    theirs = hf.CallbackHandler([hf.DefaultFlowCallback(), theirs_cb], "m", "p", "o", "s")
    args = hf_args(tmp_path)
    shared = [event for event in Event if event is not Event.on_non_finite]
    for event, handler in itertools.product(shared, (ours, theirs)):
        extra = {"metrics": {}} if event.value in ("on_evaluate", "on_predict") else {}
        if event is Event.on_log:
            extra = {"logs": {}}
        state = TrainerState() if handler is ours else hf.TrainerState()
        control = TrainerControl() if handler is ours else hf.TrainerControl()
        getattr(handler, event.value)(args, state, control, *extra.values())
    assert ours_cb.kwargs == theirs_cb.kwargs


@pytest.mark.parametrize("greater", [False, True])
@pytest.mark.parametrize("patience,threshold", [(1, 0.0), (2, 0.0), (2, 0.05), (3, 0.2)])
def test_early_stopping_matches_transformers(tmp_path, greater, patience, threshold):
    args = hf_args(
        tmp_path,
        eval_strategy="steps",
        metric_for_best_model="acc",
        greater_is_better=greater,
        load_best_model_at_end=True,
        save_strategy="steps",
    )
    values = [0.5, 0.52, 0.51, 0.6, 0.58, 0.59, 0.61, 0.4, 0.41, 0.42, 0.3]
    results = []
    for cb, state, control in (
        (EarlyStoppingCallback(patience, threshold), TrainerState(), TrainerControl()),
        (hf.EarlyStoppingCallback(patience, threshold), hf.TrainerState(), hf.TrainerControl()),
    ):
        cb.on_train_begin(args, state, control)
        trace = []
        for value in values:
            cb.on_evaluate(args, state, control, metrics={"eval_acc": value})
            if state.best_metric is None or (value > state.best_metric) == greater:
                state.best_metric = value
            trace.append((cb.early_stopping_patience_counter, control.should_training_stop))
        results.append((trace, cb.state()))
    assert results[0] == results[1]


def test_early_stopping_assertions_match_transformers(tmp_path):
    for kwargs in (dict(eval_strategy="steps"), dict(metric_for_best_model="loss")):
        args = hf_args(tmp_path, **kwargs)
        with pytest.raises(AssertionError):
            hf.EarlyStoppingCallback().on_train_begin(args, hf.TrainerState(), hf.TrainerControl())
        with pytest.raises(AssertionError):
            EarlyStoppingCallback().on_train_begin(args, TrainerState(), TrainerControl())
