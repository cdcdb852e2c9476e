"""peft is optional: training and saving never import it unless the user did."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, torch
from trainer_loop import Trainer
from trainer_args import TrainingArguments
model = torch.nn.Linear(2, 1)
class Wrap(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.inner = model
    def forward(self, x, labels=None):
        return ((self.inner(x).squeeze(-1) - labels) ** 2).mean(),
data = [{"x": torch.randn(2), "labels": torch.tensor(1.0)} for _ in range(8)]
args = TrainingArguments(output_dir=sys.argv[1], max_steps=2, save_steps=2, use_cpu=True,
                         report_to="none", disable_tqdm=True)
run = Trainer(model=Wrap(), args=args, train_dataset=data)
run.train()
run.train(resume_from_checkpoint=True)
assert "peft" not in sys.modules, "peft was imported"
assert "transformers" not in sys.modules, "transformers was imported"
"""


def test_training_and_resuming_import_neither_peft_nor_transformers(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
