"""Gradient norm without clipping, NEFTune noise and memory metrics (found by the parity sweep)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from torch import nn  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402


def make_args(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(learning_rate=0.05, max_steps=4, optim="adamw_torch", logging_steps=1)
    return cpu_args(tmp_path, **(settings | overrides))


class TinyEmbedder(nn.Module):
    """Token embeddings and a linear head; offers ``get_input_embeddings`` like a language model."""

    def __init__(self, vocab: int = 16, width: int = 8):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, width)
        self.head = nn.Linear(width, vocab)
        self.seen: list[torch.Tensor] = []

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def forward(self, input_ids, labels=None):
        hidden = self.embed(input_ids)
        self.seen.append(hidden.detach().clone())
        logits = self.head(hidden)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())
        return {"loss": loss, "logits": logits}


def _tokens(n: int = 8, length: int = 5) -> list[dict]:
    ids = torch.randint(0, 16, (n, length), generator=torch.Generator().manual_seed(1))
    return [{"input_ids": ids[i], "labels": ids[i]} for i in range(n)]


@pytest.mark.parametrize("max_grad_norm", [0.0, None, 1.0])
def test_grad_norm_is_logged_with_or_without_clipping(tmp_path, max_grad_norm):
    trainer = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, max_grad_norm=max_grad_norm),
        train_dataset=RegressionDataset(length=16),
    )
    trainer.train()
    norms = [e["grad_norm"] for e in trainer.state.log_history if "loss" in e]
    assert len(norms) == 4 and all(n > 0 for n in norms)


def test_no_clipping_leaves_large_gradients_alone(tmp_path):
    # With max_grad_norm=0 the first update is the plain SGD step, however large the norm.
    trainer = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, max_grad_norm=0.0, optim="sgd", max_steps=1, learning_rate=0.1),
        train_dataset=RegressionDataset(length=4),
    )
    data = RegressionDataset(length=4)
    x, y = torch.tensor(data.x), torch.tensor(data.ys)
    reference = RegressionModel()
    nn.functional.mse_loss(x * reference.a + reference.b, y).backward()
    expected_norm = torch.sqrt(reference.a.grad**2 + reference.b.grad**2).item()
    trainer.train()
    assert expected_norm > 1.0
    assert trainer.state.log_history[0]["grad_norm"] == pytest.approx(expected_norm, rel=1e-5)
    assert trainer.model.a.item() == pytest.approx(-0.1 * reference.a.grad.item(), rel=1e-5)


def test_neftune_adds_noise_while_training_only(tmp_path):
    model = TinyEmbedder()
    ids = torch.stack([b["input_ids"] for b in _tokens()[:4]])
    with torch.no_grad():
        clean_before = TinyEmbedder().embed(ids)  # same seed: the weights before training
    trainer = Trainer(
        model=model,
        args=make_args(
            tmp_path, neftune_noise_alpha=5.0, max_steps=2, train_sampling_strategy="sequential"
        ),
        train_dataset=_tokens(),
    )
    trainer.train()
    # The first training batch saw noise bounded by alpha / sqrt(length * width).
    noise = (model.seen[0] - clean_before).abs().max()
    assert 0 < noise <= 5.0 / (5 * 8) ** 0.5
    # After training the hook is gone: clean embeddings, even in training mode.
    model.train()
    model.seen.clear()
    model(ids, labels=ids)
    torch.testing.assert_close(model.seen[0], model.embed(ids))
    assert not hasattr(model.embed, "neftune_noise_alpha")


def test_neftune_noise_is_within_its_bound(tmp_path):
    model = TinyEmbedder()
    from trainer_loop.training.neftune import activate_neftune, deactivate_neftune

    handle = activate_neftune(model, 5.0)
    ids = torch.randint(0, 16, (3, 5))
    model.train()
    noisy = model.embed(ids)
    model.eval()
    clean = model.embed(ids)
    bound = 5.0 / (5 * 8) ** 0.5
    assert 0 < (noisy - clean).abs().max() <= bound
    deactivate_neftune(model, handle)
    model.train()
    torch.testing.assert_close(model.embed(ids), clean)


def test_neftune_needs_input_embeddings(tmp_path):
    trainer = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, neftune_noise_alpha=5.0),
        train_dataset=RegressionDataset(length=8),
    )
    with pytest.raises(ValueError, match="get_input_embeddings"):
        trainer.train()


def test_memory_metrics_are_reported_unless_skipped(tmp_path):
    pytest.importorskip("psutil")
    trainer = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, skip_memory_metrics=False, eval_strategy="steps", eval_steps=2),
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=3),
    )
    output = trainer.train()
    for key in (
        "before_init_mem_cpu",
        "init_mem_cpu_alloc_delta",
        "init_mem_cpu_peaked_delta",
        "train_mem_cpu_alloc_delta",
        "train_mem_cpu_peaked_delta",
    ):
        assert isinstance(output.metrics[key], int), key
    # Evaluations during training are part of the train stage; later ones are measured alone.
    in_training = [e for e in trainer.state.log_history if "eval_loss" in e]
    assert in_training and not any("eval_mem_cpu_alloc_delta" in e for e in in_training)
    metrics = trainer.evaluate()
    assert {"eval_mem_cpu_alloc_delta", "eval_mem_cpu_peaked_delta"} <= metrics.keys()
    assert "init_mem_cpu_alloc_delta" not in metrics  # reported once
    assert "test_mem_cpu_alloc_delta" in trainer.predict(RegressionDataset(length=4)).metrics

    quiet = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path),
        train_dataset=RegressionDataset(length=16),
    )
    assert not any("_mem_" in key for key in quiet.train().metrics)
