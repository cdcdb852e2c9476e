"""The model card's hyperparameter and framework lines read as transformers writes them."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.models import lm_data, tiny_gpt2  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title) + 1
    out = []
    for line in lines[start:]:
        if line.startswith("#"):
            break
        if line.strip():
            out.append(line)
    return out


@pytest.mark.parametrize("optim", ["adamw_torch", "sgd"])
def test_hyperparameters_and_versions_match_transformers(tmp_path, optim):
    cards = {}
    for name, trainer_cls, args_cls in (
        ("ours", trainer_loop.Trainer, TrainingArguments),
        ("theirs", transformers.Trainer, transformers.TrainingArguments),
    ):
        args = args_cls(
            output_dir=str(tmp_path / name),
            max_steps=2,
            optim=optim,
            gradient_accumulation_steps=2,
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            save_strategy="no",
        )
        run = trainer_cls(model=tiny_gpt2(), args=args, train_dataset=lm_data(8, seq_len=8))
        run.train()
        run.create_model_card(model_name="toy")
        cards[name] = (tmp_path / name / "README.md").read_text()
    hyper = "### Training hyperparameters"
    assert _section(cards["ours"], hyper) == _section(cards["theirs"], hyper)
    versions = "### Framework versions"
    theirs = _section(cards["theirs"], versions)
    mine = _section(cards["ours"], versions)
    assert f"- Pytorch {torch.__version__}" in theirs
    assert [line for line in mine if line in theirs] == theirs
