"""Event dispatch, control flags, state and the built-in callbacks (no transformers needed)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from helpers.events import EVENTS, make_recorder
from trainer_loop.callbacks.base import CallbackHandler, Event, TrainerCallback, listens_to
from trainer_loop.callbacks.builtin import (
    DefaultFlowCallback,
    EarlyStoppingCallback,
    PrinterCallback,
    ProgressCallback,
)
from trainer_loop.state import ExportableState, TrainerControl, TrainerState


def make_args(**overrides):
    defaults = dict(
        output_dir="out",
        logging_strategy="steps",
        logging_steps=500,
        logging_first_step=False,
        eval_strategy="no",
        eval_steps=None,
        eval_delay=0,
        save_strategy="steps",
        save_steps=500,
        load_best_model_at_end=False,
        metric_for_best_model=None,
        greater_is_better=None,
        disable_tqdm=False,
        report_to="none",
        logging_dir=None,
    )
    defaults.update(overrides)
    return SimpleNamespace(**defaults)


def make_handler(*callbacks, model="model"):
    return CallbackHandler([DefaultFlowCallback, *callbacks], model, "tok", "opt", "sched")


# -- Event -------------------------------------------------------------------------------------


def test_event_members_are_the_documented_names():
    # transformers' events, plus this library's own on_non_finite.
    assert {e.value for e in Event} == set(EVENTS) | {"on_non_finite"}
    assert [e.name for e in Event] == [e.value for e in Event]
    assert Event.on_log == "on_log" and str(Event.on_step_end) == "on_step_end"
    for event in Event:
        assert callable(getattr(TrainerCallback, event.value))
        assert callable(getattr(CallbackHandler, event.value))


def test_event_order_follows_the_training_loop():
    order = [e.value for e in Event]
    assert (
        order.index("on_train_begin") < order.index("on_epoch_begin") < order.index("on_step_begin")
    )
    assert order.index("on_substep_end") < order.index("on_pre_optimizer_step")
    assert order.index("on_optimizer_step") < order.index("on_step_end") < order.index("on_log")
    assert order.index("on_evaluate") < order.index("on_save") < order.index("on_epoch_end")
    assert order.index("on_epoch_end") < order.index("on_train_end")


# -- dispatch ----------------------------------------------------------------------------------


class LogOnly(TrainerCallback):
    def __init__(self):
        self.seen = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.seen.append((logs, kwargs))


def test_only_overriders_are_called():
    log_only = LogOnly()
    handler = make_handler(log_only, TrainerCallback())
    assert handler.listeners("on_log") == (log_only,)
    assert handler.listeners(Event.on_step_begin) == ()
    assert handler.listeners("on_step_end") == (handler.callbacks[0],)
    args, state, control = make_args(), TrainerState(), TrainerControl()
    for event in Event:
        kwargs = {"logs": {"loss": 1.0}} if event is Event.on_log else {}
        assert getattr(handler, event.value)(args, state, control, **kwargs) is control
    assert len(log_only.seen) == 1


def test_non_overriders_never_touched():
    class Spy(TrainerCallback):
        touched: list = []

        def __getattribute__(self, name):
            if name.startswith("on_"):
                type(self).touched.append(name)
            return object.__getattribute__(self, name)

        def on_epoch_begin(self, args, state, control, **kwargs):
            pass

    spy = Spy()
    handler = make_handler(spy)
    Spy.touched.clear()
    for event in Event:
        handler.call_event(
            event, make_args(), TrainerState(), TrainerControl(), metrics={}, logs={}
        )
    assert Spy.touched == ["on_epoch_begin"]


def test_kwargs_passed_like_transformers():
    log_only = LogOnly()
    handler = make_handler(log_only)
    handler.train_dataloader = "train_dl"
    handler.eval_dataloader = "eval_dl"
    handler.on_log(make_args(), TrainerState(), TrainerControl(), {"loss": 0.5})
    logs, kwargs = log_only.seen[0]
    assert logs == {"loss": 0.5}
    assert kwargs == {
        "model": "model",
        "processing_class": "tok",
        "optimizer": "opt",
        "lr_scheduler": "sched",
        "train_dataloader": "train_dl",
        "eval_dataloader": "eval_dl",
    }


def test_instance_attribute_counts_as_override():
    cb = TrainerCallback()
    seen = []
    cb.on_save = lambda args, state, control, **kw: seen.append(state.global_step)
    assert listens_to(cb, "on_save")
    handler = make_handler(cb)
    handler.on_save(make_args(), TrainerState(global_step=3), TrainerControl(should_save=True))
    assert seen == [3]


def test_recorder_sees_every_event_in_call_order():
    recorder = make_recorder(TrainerCallback)()
    handler = make_handler(recorder)
    args, state, control = make_args(), TrainerState(), TrainerControl()
    for event in Event:
        getattr(handler, event.value)(args, state, control)
    assert recorder.events == [e.value for e in Event]


def test_add_pop_remove_recompute_listeners(caplog):
    handler = make_handler()
    log_only = LogOnly()
    handler.add_callback(log_only)
    assert handler.listeners("on_log") == (log_only,)
    with caplog.at_level(logging.WARNING):
        handler.add_callback(LogOnly)
    assert "already one" in caplog.text
    second = handler.callbacks[-1]
    assert handler.listeners("on_log") == (log_only, second)
    assert handler.pop_callback(LogOnly) is log_only
    assert handler.listeners("on_log") == (second,)
    handler.remove_callback(second)
    assert handler.listeners("on_log") == ()
    assert handler.pop_callback(LogOnly) is None
    handler.remove_callback(DefaultFlowCallback)
    assert handler.listeners("on_step_end") == ()
    assert handler.callback_list == ""
    with pytest.raises(ValueError):
        handler.remove_callback(second)


def test_callback_list_and_missing_default_flow_warning(caplog):
    with caplog.at_level(logging.WARNING):
        handler = CallbackHandler([PrinterCallback()], None, None, None, None)
    assert "DefaultFlowCallback" in caplog.text
    assert handler.callback_list == "PrinterCallback"
    assert handler.model is None and handler.train_dataloader is None


def test_control_resets_per_event():
    handler = make_handler()
    args, state = make_args(), TrainerState()
    control = TrainerControl(True, True, True, True, True)
    handler.on_step_begin(args, state, control)
    assert (control.should_log, control.should_evaluate, control.should_save) == (False,) * 3
    assert control.should_training_stop and control.should_epoch_stop
    handler.on_epoch_begin(args, state, control)
    assert not control.should_epoch_stop
    handler.on_train_begin(args, state, control)
    assert not control.should_training_stop
    control = TrainerControl(should_log=True, should_evaluate=True, should_save=True)
    handler.on_log(args, state, control, logs={})
    handler.on_evaluate(args, state, control, metrics={})
    handler.on_save(args, state, control)
    assert control == TrainerControl()


def test_returned_control_replaces_current():
    replacement = TrainerControl(should_training_stop=True)

    class Replacer(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs):
            return replacement

    handler = make_handler(Replacer())
    assert handler.on_epoch_end(make_args(), TrainerState(), TrainerControl()) is replacement


# -- TrainerControl / ExportableState -----------------------------------------------------------


def test_control_resets_and_state_round_trip():
    control = TrainerControl(True, True, True, True, True)
    control._new_step()
    assert (control.should_save, control.should_evaluate, control.should_log) == (False,) * 3
    control._new_epoch()
    assert not control.should_epoch_stop
    control._new_training()
    assert not control.should_training_stop
    control = TrainerControl(should_save=True, should_log=True)
    exported = control.state()
    assert exported["attributes"] == {} and exported["args"]["should_save"] is True
    assert TrainerControl.from_state(exported) == control


def test_exportable_state_is_structural():
    class Mine:
        def __init__(self, x=1):
            self.x = x
            self.count = 0

        def state(self):
            return {"args": {"x": self.x}, "attributes": {"count": self.count}}

        @classmethod
        def from_state(cls, state):
            return ExportableState.from_state.__func__(cls, state)

    assert isinstance(Mine(), ExportableState)
    assert not isinstance(PrinterCallback(), ExportableState)
    restored = Mine.from_state({"args": {"x": 5}, "attributes": {"count": 3}})
    assert (restored.x, restored.count) == (5, 3)


# -- TrainerState --------------------------------------------------------------------------------


def test_state_defaults_match_reference():
    state = TrainerState()
    expected = dict(
        epoch=0,
        global_step=0,
        max_steps=0,
        logging_steps=500,
        eval_steps=500,
        save_steps=500,
        train_batch_size=None,
        num_train_epochs=0,
        num_input_tokens_seen=0,
        total_flos=0,
        log_history=[],
        best_metric=None,
        best_global_step=None,
        best_model_checkpoint=None,
        is_local_process_zero=True,
        is_world_process_zero=True,
        is_hyper_param_search=False,
        trial_name=None,
        trial_params=None,
        stateful_callbacks={},
    )
    assert {k: getattr(state, k) for k in expected} == expected
    assert list(state.__dataclass_fields__) == list(expected)


def test_state_json_round_trip(tmp_path):
    early = EarlyStoppingCallback(3, 0.1)
    early.early_stopping_patience_counter = 2
    state = TrainerState(
        epoch=1.5,
        global_step=30,
        max_steps=60,
        log_history=[{"loss": 0.25, "step": 10}],
        best_metric=0.1,
        best_global_step=20,
        best_model_checkpoint="out/checkpoint-20",
        stateful_callbacks=[early, TrainerControl(), EarlyStoppingCallback()],
    )
    assert state.stateful_callbacks["TrainerControl"]["args"]["should_log"] is False
    assert isinstance(state.stateful_callbacks["EarlyStoppingCallback"], list)
    path = tmp_path / "trainer_state.json"
    state.save_to_json(path)
    text = path.read_text()
    assert text.endswith("}\n") and json.loads(text)["global_step"] == 30
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert TrainerState.load_from_json(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["trainer_state.json"]


def test_state_rejects_non_exportable_callbacks():
    with pytest.raises(TypeError, match="PrinterCallback"):
        TrainerState(stateful_callbacks=[PrinterCallback()])


def test_load_ignores_unknown_keys(tmp_path, caplog):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"global_step": 4, "future_field": 1}))
    with caplog.at_level(logging.WARNING):
        state = TrainerState.load_from_json(path)
    assert state.global_step == 4 and "future_field" in caplog.text


def test_compute_steps_fractions():
    state = TrainerState()
    state.compute_steps(make_args(logging_steps=0.1, eval_steps=None, save_steps=0.25), 95)
    assert (state.logging_steps, state.eval_steps, state.save_steps) == (10, 500, 24)
    state.compute_steps(make_args(logging_steps=7, eval_steps=3, save_steps=1), 95)
    assert (state.logging_steps, state.eval_steps, state.save_steps) == (7, 3, 1)


def test_init_training_references():
    trainer = SimpleNamespace(
        hp_name=lambda trial: f"trial-{trial['lr']}",
        _trial={"lr": 0.1},
        is_local_process_zero=lambda: True,
        is_world_process_zero=lambda: False,
    )
    state = TrainerState()
    state.init_training_references(trainer, 100, 3, {"lr": 0.1})
    assert (state.trial_name, state.trial_params) == ("trial-0.1", {"lr": 0.1})
    assert (state.max_steps, state.num_train_epochs) == (100, 3)
    assert state.is_local_process_zero and not state.is_world_process_zero
    optuna_like = SimpleNamespace(params={"wd": 0.01})
    trainer = SimpleNamespace(
        hp_name=None,
        _trial=None,
        is_local_process_zero=lambda: True,
        is_world_process_zero=lambda: True,
    )
    state.init_training_references(trainer, 10, 1, optuna_like)
    assert state.trial_params == {"wd": 0.01}
    state.init_training_references(trainer, 10, 1, None)
    assert state.trial_params is None


# -- DefaultFlowCallback (own decisions; side by side with transformers elsewhere) -------------


def test_default_flow_steps_and_stop():
    flow = DefaultFlowCallback()
    args = make_args(
        logging_steps=2,
        save_steps=3,
        eval_strategy="steps",
        eval_steps=4,
        logging_first_step=True,
        eval_delay=5,
    )
    state = TrainerState(max_steps=9, logging_steps=2, save_steps=3, eval_steps=4)
    seen = []
    for step in range(1, 10):
        state.global_step = step
        control = TrainerControl()
        flow.on_step_end(args, state, control)
        seen.append(
            (
                control.should_log,
                control.should_evaluate,
                control.should_save,
                control.should_training_stop,
            )
        )
    assert [s for s, flags in enumerate(seen, 1) if flags[0]] == [1, 2, 4, 6, 8]
    assert [s for s, flags in enumerate(seen, 1) if flags[1]] == [8]
    assert [s for s, flags in enumerate(seen, 1) if flags[2]] == [3, 6, 9]
    assert [s for s, flags in enumerate(seen, 1) if flags[3]] == [9]


# -- EarlyStoppingCallback ----------------------------------------------------------------------


def early_args(**kw):
    base = dict(
        metric_for_best_model="loss",
        greater_is_better=False,
        eval_strategy="steps",
        load_best_model_at_end=True,
    )
    base.update(kw)
    return make_args(**base)


def run_early(callback, args, values):
    state, control = TrainerState(), TrainerControl()
    stopped_at = None
    for i, value in enumerate(values):
        callback.on_evaluate(args, state, control, metrics={"eval_loss": value})
        better = state.best_metric is None or (
            value > state.best_metric if args.greater_is_better else value < state.best_metric
        )
        if better:  # what the Trainer does when tracking the best model
            state.best_metric = value
        if control.should_training_stop and stopped_at is None:
            stopped_at = i
    return stopped_at


def test_early_stopping_patience_and_threshold():
    assert run_early(EarlyStoppingCallback(2), early_args(), [1.0, 0.9, 0.95, 0.8, 0.85, 0.9]) == 5
    assert run_early(EarlyStoppingCallback(1, 0.2), early_args(), [1.0, 0.9, 0.5]) == 1
    assert (
        run_early(EarlyStoppingCallback(1), early_args(greater_is_better=True), [1, 2, 3]) is None
    )
    assert run_early(EarlyStoppingCallback(1), early_args(greater_is_better=True), [3, 2]) == 1


def test_early_stopping_checks_arguments(caplog):
    cb = EarlyStoppingCallback()
    with pytest.raises(AssertionError, match="metric_for_best_model"):
        cb.on_train_begin(early_args(metric_for_best_model=None), TrainerState(), TrainerControl())
    with pytest.raises(ValueError, match="eval_strategy"):
        cb.on_train_begin(early_args(eval_strategy="no"), TrainerState(), TrainerControl())
    with caplog.at_level(logging.WARNING):
        cb.on_train_begin(
            early_args(load_best_model_at_end=False), TrainerState(), TrainerControl()
        )
    assert "load_best_model_at_end" in caplog.text


def test_early_stopping_missing_metric_and_state(caplog):
    cb = EarlyStoppingCallback(2, 0.5)
    control = TrainerControl()
    with caplog.at_level(logging.WARNING):
        cb.on_evaluate(
            early_args(metric_for_best_model="eval_acc"),
            TrainerState(),
            control,
            metrics={"eval_loss": 1.0},
        )
    assert "eval_acc" in caplog.text and not control.should_training_stop
    cb.early_stopping_patience_counter = 1
    restored = EarlyStoppingCallback.from_state(cb.state())
    assert (
        restored.state()
        == cb.state()
        == {
            "args": {"early_stopping_patience": 2, "early_stopping_threshold": 0.5},
            "attributes": {"early_stopping_patience_counter": 1},
        }
    )


# -- ProgressCallback / PrinterCallback -----------------------------------------------------------


class SizedLoader:
    def __len__(self):
        return 3


def drive_progress(args, capsys):
    cb = ProgressCallback(max_str_len=10)
    handler = make_handler(cb)
    state, control = TrainerState(max_steps=4), TrainerControl()
    handler.eval_dataloader = SizedLoader()
    handler.on_train_begin(args, state, control)
    for step in range(1, 5):
        state.global_step = step
        handler.on_step_end(args, state, control)
    for _ in range(3):
        handler.on_prediction_step(args, state, control)
    bar = cb.prediction_bar
    handler.on_evaluate(args, state, control, metrics={})
    handler.on_log(
        args,
        state,
        control,
        logs={"loss": 0.123456, "total_flos": 1.0, "note": "x" * 20, "epoch": 1},
    )
    train_bar = cb.training_bar
    handler.on_train_end(args, state, control)
    return cb, bar, train_bar, capsys.readouterr()


def test_progress_callback_bars_and_logs(capsys):
    cb, bar, train_bar, out = drive_progress(make_args(disable_tqdm=False), capsys)
    assert train_bar.n == 4 and train_bar.total == 4 and bar.n == 3 and bar.total == 3
    assert cb.training_bar is None and cb.prediction_bar is None
    assert "'loss': '0.1235'" in out.out and "total_flos" not in out.out
    assert "String too long to display, length: 20 > 10" in out.out
    assert "%|" in out.err  # tqdm drew a bar


def test_progress_callback_disable_tqdm(capsys):
    _, bar, train_bar, out = drive_progress(make_args(disable_tqdm=True), capsys)
    assert train_bar.disable and bar.disable
    assert "%|" not in out.err
    assert "'loss': '0.1235'" in out.out


def test_progress_callback_not_main_process(capsys):
    cb = ProgressCallback()
    state = TrainerState(max_steps=2, is_world_process_zero=False)
    args, control = make_args(), TrainerControl()
    cb.on_train_begin(args, state, control)
    cb.on_step_end(args, state, control)
    cb.on_log(args, state, control, logs={"loss": 1.0})
    cb.on_train_end(args, state, control)
    assert cb.training_bar is None
    assert capsys.readouterr() == ("", "")


def test_printer_callback(capsys):
    logs = {"loss": 0.123456, "total_flos": 3.0, "step": 2}
    cb = PrinterCallback()
    cb.on_log(make_args(), TrainerState(), TrainerControl(), logs=logs)
    assert capsys.readouterr().out == "{'loss': '0.1235', 'step': 2}\n"
    assert "total_flos" not in logs  # removed in place, as transformers does
    cb.on_log(make_args(), TrainerState(is_local_process_zero=False), TrainerControl(), logs=logs)
    assert capsys.readouterr().out == ""
