"""``trainer plot``: loss and learning-rate curves from a run's ``trainer_state.json`` as a PNG.

matplotlib is optional: ``pip install "trainer[plot]"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "trainer_state.json"


def find_state_file(path: str | os.PathLike) -> Path:
    """``trainer_state.json`` of a checkpoint folder, or of an output folder (its own, else the
    newest ``checkpoint-N``'s), or the file itself."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / STATE_FILE).is_file():
        return path / STATE_FILE
    checkpoints = sorted(
        (p for p in path.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    for checkpoint in reversed(checkpoints):
        if (checkpoint / STATE_FILE).is_file():
            return checkpoint / STATE_FILE
    raise FileNotFoundError(
        f"no {STATE_FILE} in {str(path)!r} nor in a checkpoint-N folder inside it; pass an output "
        "folder of a run, a checkpoint folder, or the file itself"
    )


def curves(log_history: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``(step, value)`` series for ``loss``, ``eval_loss`` and ``learning_rate``."""
    series: dict[str, list[tuple[int, float]]] = {"loss": [], "eval_loss": [], "learning_rate": []}
    for entry in log_history:
        for key, points in series.items():
            if key in entry and "step" in entry:
                points.append((int(entry["step"]), float(entry[key])))
    return series


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError('trainer plot needs matplotlib: pip install "trainer[plot]"') from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(path: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Draw the curves of the run at ``path`` and return where the PNG was written.

    By default the PNG is ``loss_curves.png`` next to the ``trainer_state.json`` that was read.
    """
    state_file = find_state_file(path)
    with open(state_file) as f:
        history = json.load(f).get("log_history", [])
    series = curves(history)
    if not series["loss"] and not series["eval_loss"]:
        raise ValueError(
            f"{state_file} logs no loss yet; set logging_steps (and eval_strategy) so that the "
            "run logs losses"
        )
    plt = _pyplot()
    figure, (loss_ax, lr_ax) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for key, label, style in (("loss", "training loss", "-"), ("eval_loss", "eval loss", "o-")):
        if series[key]:
            steps, values = zip(*series[key])
            loss_ax.plot(steps, values, style, label=label)
    loss_ax.set_ylabel("loss")
    loss_ax.legend()
    loss_ax.grid(alpha=0.3)
    if series["learning_rate"]:
        steps, values = zip(*series["learning_rate"])
        lr_ax.plot(steps, values, color="tab:green")
    lr_ax.set_ylabel("learning rate")
    lr_ax.set_xlabel("step")
    lr_ax.grid(alpha=0.3)
    figure.suptitle(str(state_file.parent))
    figure.tight_layout()
    output = Path(output) if output is not None else state_file.parent / "loss_curves.png"
    figure.savefig(output, dpi=100)
    plt.close(figure)
    return output
