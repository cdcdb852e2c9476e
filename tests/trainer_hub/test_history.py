"""Reading evaluation results from a log history, and the Markdown table."""

from __future__ import annotations

import pytest

pytest.importorskip("huggingface_hub")

from trainer_hub import markdown_table, parse_log_history  # noqa: E402
from trainer_hub.history import format_value, metric_title  # noqa: E402

HISTORY = [
    {"loss": 1.5, "epoch": 0.5, "step": 2},
    {"eval_loss": 1.25, "eval_accuracy": 0.5, "eval_runtime": 0.1, "epoch": 0.5, "step": 2},
    {"loss": 0.75, "epoch": 1.0, "step": 4},
    {
        "eval_loss": 0.5,
        "eval_accuracy": 0.875,
        "eval_f1_macro": 0.123456,
        "eval_samples_per_second": 99.0,
        "eval_steps_per_second": 9.0,
        "epoch": 1.0,
        "step": 4,
    },
    {"train_runtime": 1.0, "train_loss": 1.1, "total_flos": 10.0, "epoch": 1.0, "step": 4},
]


def test_rows_and_final_results():
    history = parse_log_history(HISTORY)
    assert history.rows == [
        {"Training Loss": 1.5, "Epoch": 0.5, "Step": 2, "Validation Loss": 1.25, "Accuracy": 0.5},
        {
            "Training Loss": 0.75,
            "Epoch": 1.0,
            "Step": 4,
            "Validation Loss": 0.5,
            "Accuracy": 0.875,
            "F1 Macro": 0.123456,
        },
    ]
    assert history.final == {"Loss": 0.5, "Accuracy": 0.875, "F1 Macro": 0.123456}


def test_evaluation_before_first_training_log_says_no_log():
    history = parse_log_history([{"eval_loss": 2.0, "step": 0}, {"train_runtime": 1.0}])
    assert history.rows[0]["Training Loss"] == "No log"


def test_only_an_evaluation_gives_final_results_without_rows():
    history = parse_log_history([{"eval_loss": 2.0, "eval_runtime": 1.0, "step": 0}])
    assert history.rows == []
    assert history.final == {"Loss": 2.0}


def test_empty_history():
    history = parse_log_history([])
    assert history.rows == [] and history.final is None


def test_helpers():
    assert metric_title("eval_matthews_correlation") == "Matthews Correlation"
    assert format_value(0.123456789) == "0.1235"
    assert format_value(0.5) == "0.5"
    assert format_value("No log") == "No log"
    table = markdown_table([{"Step": 1, "Loss": 0.123456}, {"Step": 20, "Loss": 0.5}])
    lines = table.splitlines()
    assert lines[0] == "| Step | Loss   |"
    assert lines[1] == "|:----:|:------:|"
    assert lines[2] == "| 1    | 0.1235 |"
    assert len({len(line) for line in lines}) == 1
    assert markdown_table([]) == ""
