"""Reading evaluation results out of ``TrainerState.log_history`` for the model card.

``log_history`` is the list of dictionaries the trainer logged: training-loss entries (``loss``),
evaluation entries (``eval_loss`` and other ``eval_*`` metrics) and, once training ends, one
summary entry holding ``train_runtime``. The model card shows every evaluation as a row of a
table (with the training loss logged just before it) and the last evaluation as the headline
results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Keys of an evaluation entry that describe the run, not the model: they never become columns
# or headline results.
_BOOKKEEPING = frozenset(
    {"runtime", "samples_per_second", "steps_per_second", "epoch", "step", "total_flos"}
)


@dataclass
class EvalHistory:
    """Evaluation results found in a log history.

    Attributes:
        rows: one mapping per evaluation made during training, column title to value, in
            the order the evaluations happened (empty when training never evaluated).
        final: the metrics of the last evaluation, readable name to value, or ``None`` when
            nothing was evaluated.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None


def metric_title(key: str) -> str:
    """``"eval_f1_macro"`` -> ``"F1 Macro"``: the ``eval_`` prefix dropped, words capitalised."""
    key = key.removeprefix("eval_")
    return " ".join(part.capitalize() for part in key.split("_"))


def _final_results(entry: Mapping[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for key, value in entry.items():
        short = key.removeprefix("eval_")
        if short in _BOOKKEEPING or not key.startswith("eval_"):
            continue
        results[metric_title(key)] = value
    return results


def _row(entry: Mapping[str, Any], training_loss: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "Training Loss": training_loss,
        "Epoch": entry.get("epoch"),
        "Step": entry.get("step"),
        "Validation Loss": entry["eval_loss"],
    }
    for key, value in entry.items():
        if not key.startswith("eval_") or key == "eval_loss":
            continue
        if key.removeprefix("eval_") in _BOOKKEEPING:
            continue
        row[metric_title(key)] = value
    return row


def parse_log_history(log_history: Sequence[Mapping[str, Any]]) -> EvalHistory:
    """Collect the evaluation table and the last evaluation's results from ``log_history``.

    Only entries logged before the end-of-training summary (the one with ``train_runtime``)
    become table rows; an evaluation run after training still counts as the final results.
    Without any training summary the table stays empty and only the final results are filled.
    """
    history = EvalHistory()
    evaluations = [i for i, entry in enumerate(log_history) if "eval_loss" in entry]
    if evaluations:
        history.final = _final_results(log_history[evaluations[-1]])

    end = next((i for i, entry in enumerate(log_history) if "train_runtime" in entry), None)
    if end is None:
        return history
    training_loss: Any = "No log"
    for entry in log_history[:end]:
        if "loss" in entry:
            training_loss = entry["loss"]
        if "eval_loss" in entry:
            history.rows.append(_row(entry, training_loss))
    return history


def format_value(value: Any, decimals: int = 4) -> str:
    """A float with more than ``decimals`` decimals is rounded; anything else is shown as is."""
    if isinstance(value, float):
        text = repr(value)
        if "." in text and "e" not in text and len(text.split(".")[1]) > decimals:
            return f"{value:.{decimals}f}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of ``{column: value}`` as a Markdown table with padded, centred columns.

    Columns come from every row, in order of first appearance; a row without a column shows
    an empty cell. Returns ``""`` for no rows.
    """
    if not rows:
        return ""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[format_value(row[c]) if c in row else "" for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "".join(f"| {v:<{w}} " for v, w in zip(values, widths)) + "|\n"

    separator = "".join(f"|:{'-' * w}:" for w in widths) + "|\n"
    return line(columns) + separator + "".join(line(values) for values in cells)
