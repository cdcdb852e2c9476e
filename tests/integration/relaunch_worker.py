"""A two-process job whose rank 1 dies at step 6, started again by ``torchrun --max-restarts``.

Run by ``test_relaunch_after_rank_death.py`` under ``torchrun --nproc-per-node=2``:
``python relaunch_worker.py OUTPUT_DIR KILL``. With ``KILL=1`` rank 1 exits abruptly after step 6
on the first attempt; torchrun starts both ranks again with ``TORCHELASTIC_RESTART_COUNT=1``, and
``checkpoint_to_resume(None, ...)`` (what ``trainer train`` does) picks the newest whole
checkpoint (step 4). Rank 0 writes the final weights to ``OUTPUT_DIR/final.pt``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import torch  # noqa: E402
from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer.train_command import checkpoint_to_resume  # noqa: E402
from trainer_loop import Trainer, TrainerCallback  # noqa: E402


class DieAtStep(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step and int(os.environ["RANK"]) == 1:
            os._exit(17)  # no clean-up, like a lost node


def main() -> int:
    out, kill = sys.argv[1], sys.argv[2] == "1"
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    args = cpu_args(
        Path(out),
        output_dir=out,
        max_steps=10,
        learning_rate=0.05,
        seed=5,
        save_strategy="steps",
        save_steps=4,
        ddp_find_unused_parameters=False,
    )
    torch.manual_seed(0)
    callbacks = [DieAtStep(6)] if kill and restart == 0 else []
    trainer = Trainer(
        model=TinyMLP(), args=args, train_dataset=classification_data(64), callbacks=callbacks
    )
    checkpoint = checkpoint_to_resume(None, out)
    print(f"attempt {restart} resumes from {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)
    if trainer.args.process_index == 0:
        torch.save(trainer.model.state_dict(), os.path.join(out, "final.pt"))
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
