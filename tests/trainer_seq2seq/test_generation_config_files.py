"""generation_config.json in checkpoints and saved models holds what transformers writes."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_seq2seq  # noqa: E402
from helpers.tiny_lm import tiny_bart  # noqa: E402


def _bart():
    return tiny_bart()


@pytest.mark.parametrize("given", ["arguments", "generation_config"])
def test_generation_config_files_match_transformers(tmp_path, given):
    g = torch.Generator().manual_seed(0)
    data = [
        {
            "input_ids": torch.randint(4, 60, (8,), generator=g),
            "labels": torch.randint(4, 60, (6,), generator=g),
        }
        for _ in range(8)
    ]
    if given == "arguments":
        extra = dict(generation_max_length=7, generation_num_beams=2)
    else:
        extra = dict(
            generation_config=transformers.GenerationConfig(
                max_length=9, num_beams=3, decoder_start_token_id=2, eos_token_id=2, pad_token_id=1
            )
        )
    files = {}
    for name, trainer_cls, args_cls in (
        ("ours", trainer_seq2seq.Seq2SeqTrainer, trainer_seq2seq.Seq2SeqTrainingArguments),
        ("theirs", transformers.Seq2SeqTrainer, transformers.Seq2SeqTrainingArguments),
    ):
        out = tmp_path / name
        args = args_cls(
            output_dir=str(out),
            max_steps=2,
            save_steps=2,
            eval_strategy="steps",
            eval_steps=2,
            predict_with_generate=True,
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            **extra,
        )
        run = trainer_cls(model=_bart(), args=args, train_dataset=data, eval_dataset=data[:2])
        run.train()
        run.predict(data[:2], max_new_tokens=3)
        run.save_model(str(out / "final"))
        files[name] = [
            json.loads((out / sub / "generation_config.json").read_text())
            for sub in ("checkpoint-2", "final")
        ]
    for mine, reference in zip(files["ours"], files["theirs"]):
        mine.pop("transformers_version"), reference.pop("transformers_version")
        assert mine == reference
