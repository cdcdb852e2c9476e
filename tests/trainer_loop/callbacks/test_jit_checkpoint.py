"""enable_jit_checkpoint=True: SIGTERM writes a checkpoint, train() returns, the process exits 0.

The run happens in a subprocess that sends itself SIGTERM from a callback in the middle of
training; the checkpoint it leaves must resume to exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys

    import torch
    from torch import nn

    import trainer_loop.callbacks.jit_checkpoint as jit
    from trainer_args import TrainingArguments
    from trainer_loop import Trainer, TrainerCallback

    jit.KILL_WAIT_S = float(os.environ.get("KILL_WAIT", "0"))


    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = nn.Linear(4, 1)
            self.drop = nn.Dropout(0.2)

        def forward(self, x, labels=None):
            out = self.lin(self.drop(x)).squeeze(-1)
            return (nn.functional.mse_loss(out, labels), out)


    g = torch.Generator().manual_seed(1)
    xs = torch.randn(48, 4, generator=g)
    data = [{"x": xs[i], "labels": xs[i].sum()} for i in range(48)]


    class Terminate(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == int(os.environ["TERM_AT"]):
                os.kill(os.getpid(), signal.SIGTERM)


    def train(output_dir, mode):
        args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=4, gradient_accumulation_steps=2,
            max_steps=12, learning_rate=0.05, save_strategy="no", report_to="none",
            use_cpu=True, disable_tqdm=True, enable_jit_checkpoint=True, logging_steps=1,
        )
        run = Trainer(model=Model(), args=args, train_dataset=data, callbacks=[Terminate()])
        out = run.train(resume_from_checkpoint=mode == "resume" or None)
        torch.save({k: v.detach() for k, v in run.model.state_dict().items()},
                   os.path.join(output_dir, "final-" + mode + ".pt"))
        print("RETURNED", out.global_step, flush=True)


    train(sys.argv[1], sys.argv[2])
    if len(sys.argv) > 3:  # an uninterrupted run for reference, in the same interpreter
        train(sys.argv[3], "first")
    """
)


def _run(tmp_path, out_dir, mode, term_at, kill_wait="0", reference_dir=None):
    script = tmp_path / "jit_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TERM_AT": str(term_at), "KILL_WAIT": kill_wait}
    extra = [str(reference_dir)] if reference_dir is not None else []
    return subprocess.run(
        [sys.executable, str(script), str(out_dir), mode, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_sigterm_writes_checkpoint_returns_and_resumes_exactly(tmp_path):
    interrupted = tmp_path / "interrupted"
    done = _run(tmp_path, interrupted, "first", term_at=5)
    assert done.returncode == 0, done.stderr
    # Signal at the end of step 5: the request is served at the end of step 6.
    assert "RETURNED 6" in done.stdout
    assert sorted(os.listdir(interrupted)) == ["checkpoint-6", "final-first.pt"]
    state = json.loads((interrupted / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    straight = tmp_path / "straight"
    resumed = _run(tmp_path, interrupted, "resume", term_at=-1, reference_dir=straight)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("RETURNED 12") == 2  # the resumed run, then the reference
    assert not any(name.startswith("checkpoint-") for name in os.listdir(straight))
    mine = torch.load(interrupted / "final-resume.pt", weights_only=True)
    expected = torch.load(straight / "final-first.pt", weights_only=True)
    for key, value in expected.items():
        assert torch.equal(mine[key], value), key


def test_without_the_flag_sigterm_still_terminates(tmp_path):
    script_dir = tmp_path / "plain"
    script = tmp_path / "plain_script.py"
    script.write_text(SCRIPT.replace("enable_jit_checkpoint=True", "enable_jit_checkpoint=False"))
    env = {**os.environ, "TERM_AT": "3", "KILL_WAIT": "0"}
    done = subprocess.run(
        [sys.executable, str(script), str(script_dir), "first"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == -15  # killed by SIGTERM, nothing saved
    assert "RETURNED" not in done.stdout
    assert not (script_dir / "checkpoint-3").exists()


def test_handler_is_restored_after_training():
    import signal

    from trainer_loop.callbacks.jit_checkpoint import JITCheckpointCallback

    before = signal.getsignal(signal.SIGTERM)
    callback = JITCheckpointCallback(kill_wait=0)
    callback.on_train_begin(None, None, None)
    assert signal.getsignal(signal.SIGTERM) == callback._on_sigterm
    callback.on_train_end(None, None, None)
    assert signal.getsignal(signal.SIGTERM) == before
