"""Process properties, serialisation, log levels and main_process_first (no torch needed)."""

import json
import logging
import pickle
import subprocess
import sys
from datetime import timedelta

import pytest
from trainer_args import ParallelMode, TrainingArguments
from trainer_args import runtime as runtime_module


@pytest.fixture
def single_process(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "ACCELERATE_USE_CPU"):
        monkeypatch.delenv(name, raising=False)


def _launch_env(monkeypatch, world, rank, local):
    monkeypatch.setenv("WORLD_SIZE", str(world))
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("LOCAL_RANK", str(local))


def test_import_is_light_and_loads_no_torch():
    code = (
        "import sys, time; t = time.perf_counter(); import trainer_args; "
        "print(time.perf_counter() - t); assert 'torch' not in sys.modules, 'torch loaded'; "
        "assert 'transformers' not in sys.modules and 'accelerate' not in sys.modules; "
        "trainer_args.TrainingArguments(); trainer_args.HfArgumentParser(trainer_args.TrainingArguments); "
        "assert 'torch' not in sys.modules"
    )
    timings = []
    for _ in range(5):  # best of five: the machine is shared
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        timings.append(float(out.stdout.strip()))
    assert min(timings) < 0.15, timings


def test_single_process_properties(single_process):
    args = TrainingArguments(use_cpu=True)
    assert (args.world_size, args.process_index, args.local_process_index) == (1, 0, 0)
    assert args.should_log and args.should_save
    assert args.ddp_timeout_delta == timedelta(seconds=1800)
    assert args.place_model_on_device is None


def test_ranks_from_launcher_env(monkeypatch):
    _launch_env(monkeypatch, 8, 5, 1)
    args = TrainingArguments()
    assert (args.world_size, args.process_index, args.local_process_index) == (8, 5, 1)
    assert args.parallel_mode is ParallelMode.DISTRIBUTED
    assert args.should_log is False and args.should_save is False
    _launch_env(monkeypatch, 8, 4, 0)
    assert TrainingArguments().should_log is True  # log_on_each_node: main process of node 1
    assert TrainingArguments().should_save is False  # save only on global rank 0
    assert TrainingArguments(save_on_each_node=True).should_save is True
    assert TrainingArguments(log_on_each_node=False).should_log is False


def test_process_log_level(monkeypatch, single_process):
    args = TrainingArguments(log_level="info", log_level_replica="error")
    assert args.get_process_log_level() == logging.INFO
    _launch_env(monkeypatch, 2, 1, 1)
    assert args.get_process_log_level() == logging.ERROR
    passive = TrainingArguments(log_level_replica="passive")
    assert passive.get_process_log_level() == logging.getLogger("trainer_args").getEffectiveLevel()
    assert TrainingArguments(log_level_replica="detail").get_process_log_level() == 5


def test_main_process_first_without_distributed_is_noop(single_process):
    ran = []
    with TrainingArguments().main_process_first(desc="tokenise"):
        ran.append(1)
    assert ran == [1]


class FakeDist:
    def __init__(self, rank, world):
        self.rank, self.world, self.calls = rank, world, []

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def get_rank(self):
        return self.rank

    def get_world_size(self):
        return self.world

    def barrier(self):
        self.calls.append("barrier")


@pytest.mark.parametrize(
    ("rank", "local", "expected"), [(0, True, ["body", "barrier"]), (1, True, ["barrier", "body"])]
)
def test_main_process_first_orders_barriers(monkeypatch, rank, local, expected):
    fake = FakeDist(rank, 2)
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    args = TrainingArguments()
    assert (args.world_size, args.process_index) == (2, rank)
    with args.main_process_first(local=local, desc="map"):
        fake.calls.append("body")
    assert fake.calls == expected


def test_main_process_first_global(monkeypatch):
    fake = FakeDist(2, 4)
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    monkeypatch.setenv("LOCAL_RANK", "0")
    with TrainingArguments().main_process_first(local=False):
        fake.calls.append("body")
    assert fake.calls == ["barrier", "body"]  # local main, but not the global one


def test_world_size_ignores_uninitialised_dist(monkeypatch, single_process):
    fake = FakeDist(3, 4)
    fake.is_initialized = lambda: False
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    assert TrainingArguments().world_size == 1
    assert runtime_module._initialised_dist() is None


def test_to_dict_and_json_hide_tokens():
    args = TrainingArguments(
        hub_token="hf_secret", eval_strategy="epoch", fsdp="full_shard", debug="underflow_overflow"
    )
    data = args.to_dict()
    assert data["hub_token"] == "<HUB_TOKEN>"
    assert data["eval_strategy"] == "epoch" and data["fsdp"] == ["full_shard"]
    assert data["debug"] == ["underflow_overflow"]
    text = args.to_json_string()
    assert "hf_secret" not in text and json.loads(text) == data
    assert args.hub_token == "hf_secret"  # the object keeps the real value


def test_repr_hides_tokens():
    args = TrainingArguments(hub_token="hf_secret")
    assert "hf_secret" not in repr(args) and "hf_secret" not in str(args)
    assert "<HUB_TOKEN>" in repr(args) and repr(args).startswith("TrainingArguments(")


def test_sanitized_dict(single_process):
    args = TrainingArguments(
        hub_token="hf_secret", label_names=["a"], use_cpu=True, per_device_train_batch_size=4
    )
    data = args.to_sanitized_dict()
    assert data["hub_token"] == "<HUB_TOKEN>" and "hf_secret" not in str(data)
    assert data["label_names"] == "['a']" and data["output_dir"] == "trainer_output"
    assert data["train_batch_size"] == 4 and data["eval_batch_size"] == 8
    assert all(type(v) in (bool, int, float, str) for v in data.values())


def test_dtype_in_nested_dict_serialised():
    class FakeDtype:
        def __str__(self):
            return "torch.bfloat16"

    args = TrainingArguments(fsdp_config={"mixed": {"dtype": FakeDtype()}})
    assert args.to_dict()["fsdp_config"]["mixed"]["dtype"] == "bfloat16"


def test_pickle_round_trip():
    args = TrainingArguments(eval_strategy="steps", hub_token="t")
    clone = pickle.loads(pickle.dumps(args))
    # Every setting survives except the token, which never goes into a pickle (training_args.bin).
    assert clone.to_dict() == args.to_dict() and clone.hub_token is None
