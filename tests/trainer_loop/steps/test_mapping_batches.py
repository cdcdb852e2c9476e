"""Batches that are mappings but not dicts (a tokenizer's BatchEncoding) normalise the loss alike.

Collators that pad with a tokenizer return a ``BatchEncoding``; the token count that scales the
loss under gradient accumulation must be taken from it exactly as from a plain dict, or the logged
loss, the gradient norm and clipping all differ from transformers.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

import trainer_data  # noqa: E402
import trainer_loop  # noqa: E402
from helpers.tokenizer import SENTENCES, word_tokenizer  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402

SETTINGS = dict(
    per_device_train_batch_size=2,
    gradient_accumulation_steps=4,
    learning_rate=0.01,
    num_train_epochs=1,
    logging_steps=1,
    max_grad_norm=0.5,
    report_to="none",
    use_cpu=True,
    disable_tqdm=True,
    save_strategy="no",
    optim="adamw_torch",
    seed=11,
)


def _gpt2(cls_name: str, vocab: int):
    from transformers import GPT2Config

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=vocab, n_positions=32, n_embd=16, n_layer=1, n_head=2, pad_token_id=0
    )
    return getattr(transformers, cls_name)(config)


def _run(tmp_path, name, trainer_cls, args_cls, model, data, collator):
    args = args_cls(output_dir=str(tmp_path / name), **SETTINGS)
    run = trainer_cls(model=model, args=args, train_dataset=data, data_collator=collator)
    run.train()
    return run


def _assert_same_run(ours, theirs):
    logs = [e for e in ours.state.log_history if "loss" in e]
    logs_t = [e for e in theirs.state.log_history if "loss" in e]
    assert len(logs) == len(logs_t) > 1
    for mine, reference in zip(logs, logs_t):
        assert mine["loss"] == pytest.approx(reference["loss"], rel=1e-5)
        assert mine["grad_norm"] == pytest.approx(reference["grad_norm"], rel=1e-4)
    reference_params = dict(theirs.model.named_parameters())
    for name, param in ours.model.named_parameters():
        torch.testing.assert_close(param, reference_params[name], rtol=1e-4, atol=1e-6)


def test_padding_collator_with_accumulation_matches_transformers(tmp_path):
    tok = word_tokenizer()
    data = [
        {**tok(text), "label": i % 2} for i, text in enumerate(SENTENCES * 3)
    ]  # 24 examples of different lengths
    ours = _run(
        tmp_path,
        "ours",
        trainer_loop.Trainer,
        TrainingArguments,
        _gpt2("GPT2ForSequenceClassification", len(tok)),
        data,
        trainer_data.DataCollatorWithPadding(tok),
    )
    theirs = _run(
        tmp_path,
        "theirs",
        transformers.Trainer,
        transformers.TrainingArguments,
        _gpt2("GPT2ForSequenceClassification", len(tok)),
        data,
        transformers.DataCollatorWithPadding(tok),
    )
    _assert_same_run(ours, theirs)


def test_language_modeling_collator_with_accumulation_matches_transformers(tmp_path):
    tok = word_tokenizer()
    data = [tok(text) for text in SENTENCES * 3]
    batch = trainer_data.DataCollatorForLanguageModeling(tok, mlm=False)(data[:4])
    assert not isinstance(batch, dict)  # the tokenizer's BatchEncoding: a Mapping
    ours = _run(
        tmp_path,
        "ours",
        trainer_loop.Trainer,
        TrainingArguments,
        _gpt2("GPT2LMHeadModel", len(tok)),
        data,
        trainer_data.DataCollatorForLanguageModeling(tok, mlm=False),
    )
    theirs = _run(
        tmp_path,
        "theirs",
        transformers.Trainer,
        transformers.TrainingArguments,
        _gpt2("GPT2LMHeadModel", len(tok)),
        data,
        transformers.DataCollatorForLanguageModeling(tok, mlm=False),
    )
    _assert_same_run(ours, theirs)


def test_token_count_taken_from_any_mapping(tmp_path):
    from collections import UserDict

    from helpers.arguments import cpu_args

    tok = word_tokenizer()
    run = trainer_loop.Trainer(
        model=_gpt2("GPT2LMHeadModel", len(tok)),
        args=cpu_args(tmp_path),
        train_dataset=[tok("hello")],
    )
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    batches = [UserDict({"input_ids": labels.clamp(min=0), "labels": labels})] * 2
    assert int(run._get_num_items_in_batch(batches, torch.device("cpu"))) == 6


def test_seq2seq_collator_with_accumulation_matches_transformers(tmp_path):
    import trainer_seq2seq
    from helpers.tiny_lm import tiny_bart

    tok = word_tokenizer()

    def bart():
        return tiny_bart(
            vocab_size=len(tok),
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            decoder_start_token_id=2,
        )

    texts = SENTENCES * 3
    data = [
        {**tok(source), "labels": tok(target)["input_ids"]}
        for source, target in zip(texts, texts[1:] + texts[:1])
    ]
    runs = {}
    for name, trainer_cls, args_cls, collator_cls in (
        (
            "ours",
            trainer_seq2seq.Seq2SeqTrainer,
            trainer_seq2seq.Seq2SeqTrainingArguments,
            trainer_data.DataCollatorForSeq2Seq,
        ),
        (
            "theirs",
            transformers.Seq2SeqTrainer,
            transformers.Seq2SeqTrainingArguments,
            transformers.DataCollatorForSeq2Seq,
        ),
    ):
        model = bart()
        runs[name] = _run(
            tmp_path, name, trainer_cls, args_cls, model, data, collator_cls(tok, model=model)
        )
    _assert_same_run(runs["ours"], runs["theirs"])
