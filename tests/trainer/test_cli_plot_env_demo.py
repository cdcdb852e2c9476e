"""``trainer plot``, ``trainer env`` and the main demo (``trainer demo``)."""

from __future__ import annotations

import importlib.util
import json

import pytest
from trainer.cli import main


def _state(tmp_path, folder="run"):
    history = [
        {"step": s, "loss": 3.0 / s, "learning_rate": 0.1 * (1 - s / 10)} for s in range(1, 10)
    ]
    history += [{"step": s, "eval_loss": 3.2 / s} for s in (3, 6, 9)]
    run = tmp_path / folder
    (run / "checkpoint-9").mkdir(parents=True)
    (run / "checkpoint-9" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    return run


def test_plot_reads_the_newest_checkpoint_and_draws_the_curves(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    run = _state(tmp_path)
    assert main(["plot", str(run), "-o", str(tmp_path / "curves.png")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "curves.png")
    pixels = matplotlib.image.imread(tmp_path / "curves.png")
    assert pixels.shape[0] > 300 and pixels.shape[1] > 400
    rgb = pixels[..., :3]
    # the three curves use matplotlib's blue, orange and green
    for color in ((0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17)):
        near = (abs(rgb - color) < 0.06).all(axis=-1)
        assert near.sum() > 50, color


def test_plot_curves_come_from_the_log_history(tmp_path):
    from trainer.plot import curves, find_state_file

    run = _state(tmp_path)
    assert find_state_file(run) == run / "checkpoint-9" / "trainer_state.json"
    history = json.loads(find_state_file(run).read_text())["log_history"]
    series = curves(history)
    assert [s for s, _ in series["eval_loss"]] == [3, 6, 9]
    assert len(series["loss"]) == len(series["learning_rate"]) == 9


def test_plot_without_a_state_file_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trainer_state.json"):
        main(["plot", str(tmp_path)])


def test_env_lists_versions(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    for name in ("python", "torch", "accelerate", "deepspeed", "CUDA available", "trainer-loop"):
        assert f"- {name}: " in out


def test_demo_data_ships_inside_the_package():
    from trainer import demo, lm_demo

    assert lm_demo.CORPUS.is_file() and demo.DATA_FILE.is_file()
    assert "site-packages" in str(lm_demo.CORPUS) or "/src/trainer/" in str(lm_demo.CORPUS)
    assert 10_000 < lm_demo.CORPUS.stat().st_size < 500_000


def test_the_demo_result_line_reads_back():
    from trainer import lm_demo

    printed = "...\neval perplexity per byte: 258.7 before training, 5.4 after\nFinal model: ...\n"
    assert lm_demo.read_result(printed) == (258.7, 5.4)
    with pytest.raises(ValueError, match="before training"):
        lm_demo.read_result("Evaluation perplexity: 258.7 before training, 5.4 after.")


def test_known_words_counts_sample_words_found_in_the_text():
    from trainer import lm_demo

    text = "The keeper lights the lamp at sunset."
    # the prompt is not counted, nor the last word (the sample may stop inside it)
    assert lm_demo.known_words("The lighthouse keeper lights zzq lamp wi", text) == (3, 4)


def test_sampling_never_reads_the_untrained_last_position():
    torch = pytest.importorskip("torch")
    from trainer.tiny_gpt import build_tiny_gpt

    model = build_tiny_gpt(vocab_size=257, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    seen = []
    model.register_forward_pre_hook(lambda _module, args: seen.append(args[0].shape[1]))
    out = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=12, seed=0)
    assert out.shape == (1, 15)
    # the loss predicts token t+1 at position t, so position 7 of an 8-token block has no target
    assert max(seen) == 7


def test_attention_dropout_follows_dropout_unless_set():
    pytest.importorskip("torch")
    from trainer.tiny_gpt import build_tiny_gpt

    sizes = {"vocab_size": 257, "n_positions": 8, "n_embd": 16, "n_layer": 1, "n_head": 2}
    assert build_tiny_gpt(**sizes, dropout=0.2).blocks[0].attn_dropout == 0.2
    tuned = build_tiny_gpt(**sizes, dropout=0.2, attn_dropout=0.0)
    assert tuned.blocks[0].attn_dropout == 0.0 and tuned.config.to_dict()["attn_dropout"] == 0.0


@pytest.mark.slow
def test_main_demo_lowers_perplexity_and_writes_everything(tmp_path, capsys):
    pytest.importorskip("datasets")
    import torch
    from trainer import lm_demo

    out = tmp_path / "demo"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is as fast and immune to a busy machine
    try:
        assert main(["demo", "--output-dir", str(out), "--max-steps", "40"]) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    metrics = json.loads((out / "demo_results.json").read_text())
    assert metrics["perplexity_after"] < metrics["perplexity_before"] / 5
    # scripts read the result from the printed line
    before, after = lm_demo.read_result(printed)
    assert before == pytest.approx(metrics["perplexity_before"], abs=0.05)
    assert after == pytest.approx(metrics["perplexity_after"], abs=0.05)
    assert 200 < before < 320  # a fresh model guesses among 257 tokens
    assert "Before training" in printed and "After training" in printed
    assert (out / "model.safetensors").is_file()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-30", "checkpoint-40"]
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "loss_curves.png").stat().st_size > 10_000
        assert f"Loss curves: {out / 'loss_curves.png'}" in printed
    else:
        assert 'pip install "trainer[plot]"' in printed
