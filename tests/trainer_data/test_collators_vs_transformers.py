"""Our collators produce the same batches as transformers' on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
import torch  # noqa: E402
import trainer_data  # noqa: E402
import transformers  # noqa: E402


def assert_same(ours, theirs):
    assert set(ours.keys()) == set(theirs.keys())
    for key in theirs:
        a, b = ours[key], theirs[key]
        if b is None:
            assert a is None
        elif isinstance(b, torch.Tensor):
            assert isinstance(a, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), key
        else:
            assert np.asarray(a).dtype == np.asarray(b).dtype and np.array_equal(a, b), key


@pytest.mark.parametrize("return_tensors", ["pt", "np"])
def test_default_collator_matches(return_tensors):
    feats = [
        {"input_ids": [1, 2, 3], "label": i % 2, "score": float(i), "text": "x"} for i in range(5)
    ]
    assert_same(
        trainer_data.default_data_collator(feats, return_tensors),
        transformers.default_data_collator(feats, return_tensors),
    )
    feats = [{"input_ids": np.arange(4), "label_ids": [0.5, 1.0]} for _ in range(3)]
    assert_same(
        trainer_data.default_data_collator(feats, return_tensors),
        transformers.default_data_collator(feats, return_tensors),
    )


@pytest.mark.parametrize("multiple", [None, 8])
@pytest.mark.parametrize("return_tensors", ["pt", "np"])
def test_padding_collator_matches(tokenizer, sentences, multiple, return_tensors):
    feats = [dict(tokenizer(s), label=i % 3) for i, s in enumerate(sentences)]
    ours = trainer_data.DataCollatorWithPadding(
        tokenizer, pad_to_multiple_of=multiple, return_tensors=return_tensors
    )
    theirs = transformers.DataCollatorWithPadding(
        tokenizer, pad_to_multiple_of=multiple, return_tensors=return_tensors
    )
    assert_same(ours(feats), theirs(feats))
    ml = trainer_data.DataCollatorWithPadding(tokenizer, padding="max_length", max_length=16)
    ml_ref = transformers.DataCollatorWithPadding(tokenizer, padding="max_length", max_length=16)
    assert_same(ml(feats), ml_ref(feats))


class FakeSeq2SeqModel(torch.nn.Module):
    def prepare_decoder_input_ids_from_labels(self, labels):
        shifted = labels.new_zeros(labels.shape)
        shifted[:, 1:] = labels[:, :-1]
        return shifted.masked_fill(shifted == -100, 0)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("return_tensors", ["pt", "np"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"pad_to_multiple_of": 4},
        {"padding": "max_length", "max_length": 14},
        {"label_pad_token_id": 0},
    ],
)
def test_seq2seq_collator_matches(
    tokenizer, left_tokenizer, sentences, side, return_tensors, options
):
    tok = tokenizer if side == "right" else left_tokenizer
    feats = [
        dict(tok(s), labels=tok(sentences[-1 - i])["input_ids"]) for i, s in enumerate(sentences)
    ]
    model = FakeSeq2SeqModel() if return_tensors == "pt" else None
    ours = trainer_data.DataCollatorForSeq2Seq(
        tok, model=model, return_tensors=return_tensors, **options
    )
    theirs = transformers.DataCollatorForSeq2Seq(
        tok, model=model, return_tensors=return_tensors, **options
    )
    assert_same(ours(feats), theirs(feats))


def test_seq2seq_collator_without_labels_and_array_labels(tokenizer, sentences):
    feats = [dict(tokenizer(s)) for s in sentences]
    ours = trainer_data.DataCollatorForSeq2Seq(tokenizer)(feats)
    assert_same(ours, transformers.DataCollatorForSeq2Seq(tokenizer)(feats))
    assert ours["labels"] is None
    feats = [dict(tokenizer(s), labels=np.array(tokenizer(s)["input_ids"])) for s in sentences]
    assert_same(
        trainer_data.DataCollatorForSeq2Seq(tokenizer)(feats),
        transformers.DataCollatorForSeq2Seq(tokenizer)(feats),
    )


@pytest.mark.parametrize("return_tensors", ["pt", "np"])
@pytest.mark.parametrize("mlm", [True, False])
@pytest.mark.parametrize("as_dicts", [True, False])
def test_language_modeling_collator_matches_with_seed(
    tokenizer, sentences, return_tensors, mlm, as_dicts
):
    ids = [tokenizer(s)["input_ids"] for s in sentences * 4]
    feats = [{"input_ids": x} for x in ids] if as_dicts else ids
    kwargs = dict(mlm=mlm, mlm_probability=0.4, seed=17, return_tensors=return_tensors)
    ours = trainer_data.DataCollatorForLanguageModeling(tokenizer, **kwargs)
    theirs = transformers.DataCollatorForLanguageModeling(tokenizer, **kwargs)
    for start in (0, 8, 16):  # several batches: the generators advance in step
        chunk = [list(f) if not as_dicts else dict(f) for f in feats[start : start + 8]]
        chunk_ref = [list(f) if not as_dicts else dict(f) for f in feats[start : start + 8]]
        assert_same(ours(chunk), theirs(chunk_ref))


def test_language_modeling_with_special_tokens_mask_and_multiple(tokenizer, sentences):
    feats = [tokenizer(s, return_special_tokens_mask=True) for s in sentences]
    kwargs = dict(pad_to_multiple_of=8, seed=3, mask_replace_prob=0.5, random_replace_prob=0.3)
    ours = trainer_data.DataCollatorForLanguageModeling(tokenizer, **kwargs)
    theirs = transformers.DataCollatorForLanguageModeling(tokenizer, **kwargs)
    assert_same(ours([dict(f) for f in feats]), theirs([dict(f) for f in feats]))


def test_language_modeling_global_rng_matches(tokenizer, sentences):
    ids = [tokenizer(s)["input_ids"] for s in sentences]
    torch.manual_seed(5)
    ours = trainer_data.DataCollatorForLanguageModeling(tokenizer)([list(x) for x in ids])
    torch.manual_seed(5)
    theirs = transformers.DataCollatorForLanguageModeling(tokenizer)([list(x) for x in ids])
    assert_same(ours, theirs)


def test_language_modeling_errors(tokenizer):
    with pytest.raises(ValueError, match="mlm_probability"):
        trainer_data.DataCollatorForLanguageModeling(tokenizer, mlm_probability=1.5)
    with pytest.raises(ValueError, match="exceed 1"):
        trainer_data.DataCollatorForLanguageModeling(
            tokenizer, mask_replace_prob=0.8, random_replace_prob=0.5
        )

    class NoMask:
        mask_token = None

    with pytest.raises(ValueError, match="mlm=False"):
        trainer_data.DataCollatorForLanguageModeling(NoMask())
