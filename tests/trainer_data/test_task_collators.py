"""The collators for token classification, multiple choice, packing and the older LM objectives.

Each is compared with transformers' collator of the same name on the same examples.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_data  # noqa: E402


def _same(ours, theirs):
    assert set(ours) == set(theirs)
    for key in theirs:
        mine, ref = ours[key], theirs[key]
        if isinstance(ref, (int, float)):
            assert mine == ref, key
            continue
        assert type(mine) is type(ref), key
        assert mine.dtype == ref.dtype, key
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(ref), err_msg=key)


def _token_features(tokenizer, sentences, key="labels"):
    out = []
    for i, text in enumerate(sentences):
        enc = tokenizer(text)
        out.append({**enc, key: [(i + j) % 3 for j in range(len(enc["input_ids"]))]})
    return out


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("key", ["labels", "label"])
def test_token_classification_matches_transformers(tokenizer, left_tokenizer, sentences, side, key):
    tok = tokenizer if side == "right" else left_tokenizer
    features = _token_features(tok, sentences[:4], key)
    kwargs = dict(pad_to_multiple_of=4, label_pad_token_id=-7)
    ours = trainer_data.DataCollatorForTokenClassification(tok, **kwargs)(features)
    theirs = transformers.DataCollatorForTokenClassification(tok, **kwargs)(features)
    _same(ours, theirs)
    assert ours[key].shape == ours["input_ids"].shape


def test_token_classification_numpy_and_no_labels(tokenizer, sentences):
    features = _token_features(tokenizer, sentences[:3])
    batch = trainer_data.DataCollatorForTokenClassification(tokenizer, return_tensors="np")(
        features
    )
    assert batch["labels"].dtype == np.int64
    assert batch["labels"].shape == batch["input_ids"].shape
    plain = [tokenizer(text) for text in sentences[:3]]
    ours = trainer_data.DataCollatorForTokenClassification(tokenizer)(plain)
    theirs = transformers.DataCollatorForTokenClassification(tokenizer)(plain)
    _same(ours, theirs)


def test_multiple_choice_matches_transformers(tokenizer, sentences):
    examples = [
        {**tokenizer([sentences[i], sentences[i + 1], sentences[i + 2]]), "label": i % 3}
        for i in range(3)
    ]
    ours = trainer_data.DataCollatorForMultipleChoice(tokenizer)([dict(e) for e in examples])
    theirs = transformers.DataCollatorForMultipleChoice(tokenizer)([dict(e) for e in examples])
    _same(ours, theirs)
    assert ours["input_ids"].shape[:2] == (3, 3)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"return_position_ids": False, "separator_id": -1},
        {"return_flash_attn_kwargs": True, "return_seq_idx": True},
    ],
)
@pytest.mark.parametrize("kind", ["pt", "np"])
def test_flattening_matches_transformers(tokenizer, sentences, options, kind):
    features = [{"input_ids": tokenizer(text)["input_ids"]} for text in sentences[:4]]
    features[1]["labels"] = list(range(len(features[1]["input_ids"])))
    features = [{**f, "labels": f.get("labels", f["input_ids"])} for f in features]
    ours = trainer_data.DataCollatorWithFlattening(return_tensors=kind, **options)(features)
    theirs = transformers.DataCollatorWithFlattening(return_tensors=kind, **options)(features)
    _same(ours, theirs)
    assert ours["input_ids"].shape[0] == 1


def test_flattening_without_labels_uses_inputs(tokenizer, sentences):
    features = [{"input_ids": tokenizer(text)["input_ids"]} for text in sentences[:3]]
    ours = trainer_data.DataCollatorWithFlattening()(features)
    theirs = transformers.DataCollatorWithFlattening()(features)
    _same(ours, theirs)


@pytest.mark.parametrize("kind", ["pt", "np"])
def test_whole_word_mask_matches_transformers(tokenizer, kind):
    texts = ["the cat sat on the mat far away", "hello world the dog ran far away hello"] * 3
    examples = [tokenizer(t, return_offsets_mapping=True) for t in texts]
    kwargs = dict(mlm_probability=0.4, whole_word_mask=True, seed=3, return_tensors=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = trainer_data.DataCollatorForLanguageModeling(tokenizer, **kwargs)
        theirs = transformers.DataCollatorForLanguageModeling(tokenizer, **kwargs)
    assert ours.mask_replace_prob == 1.0 and ours.random_replace_prob == 0.0
    for _ in range(3):
        _same(ours([dict(e) for e in examples]), theirs([dict(e) for e in examples]))


def test_whole_word_mask_needs_offsets_and_mlm(tokenizer):
    with pytest.raises(ValueError, match="mlm=True"):
        trainer_data.DataCollatorForLanguageModeling(tokenizer, mlm=False, whole_word_mask=True)
    with pytest.warns(FutureWarning, match="deprecated"):
        collator = trainer_data.DataCollatorForWholeWordMask(tokenizer, mlm=False)
    assert collator.mlm and collator.whole_word_mask
    with pytest.raises(ValueError, match="return_offsets_mapping"):
        collator([tokenizer("the cat"), tokenizer("the dog")])


def test_permutation_lm_matches_transformers(tokenizer):
    rows = [tokenizer(t)["input_ids"] for t in ["the cat sat on the mat", "a dog ran far"]]
    rows = [r + [0] * (8 - len(r)) for r in rows]
    torch.manual_seed(5)
    ours = trainer_data.DataCollatorForPermutationLanguageModeling(tokenizer)(rows)
    torch.manual_seed(5)
    theirs = transformers.DataCollatorForPermutationLanguageModeling(tokenizer)(rows)
    _same(ours, theirs)
    with pytest.raises(ValueError, match="even"):
        trainer_data.DataCollatorForPermutationLanguageModeling(tokenizer)([r[:7] for r in rows])


def test_sop_collator_masks_and_stacks(tokenizer):
    examples = [
        {
            "input_ids": torch.tensor(tokenizer(t)["input_ids"]),
            "token_type_ids": torch.zeros(len(tokenizer(t)["input_ids"]), dtype=torch.long),
            "sentence_order_label": torch.tensor(i % 2),
        }
        for i, t in enumerate(["the cat sat on the mat", "a dog ran", "hello world"])
    ]
    with pytest.warns(FutureWarning):
        collator = trainer_data.DataCollatorForSOP(tokenizer, mlm_probability=0.5)
    torch.manual_seed(0)
    batch = collator(examples)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["sentence_order_label"].tolist() == [0, 1, 0]
    masked = batch["labels"] != -100
    assert masked.any()
    # Masked positions are hidden from attention; padding stays visible (1).
    assert (batch["attention_mask"][masked] == 0).all()
    pad = batch["input_ids"] == tokenizer.pad_token_id
    assert (batch["attention_mask"][pad] == 1).all()
