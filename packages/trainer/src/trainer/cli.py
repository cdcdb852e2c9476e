"""The ``trainer`` command: ``demo``, ``train CONFIG``, ``plot RUN`` and ``env`` (docs/cli.md)."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainer", description="Train transformer models with the drop-in Trainer."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a bundled demo (default: the tiny GPT)")
    demo.add_argument(
        "which",
        nargs="?",
        choices=("lm", "moons"),
        default="lm",
        help="lm: fine-tune a tiny GPT on the bundled text; moons: a small classifier",
    )
    demo.add_argument("--output-dir", default=None, help="where to write (default: output/...)")
    demo.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="training steps (default: lm 600, moons 8 epochs)",
    )
    train = commands.add_parser("train", help="train a model on data files, as a config says")
    train.add_argument("config", help="a YAML or JSON file with task, model, data, training")
    train.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CHECKPOINT",
        help="continue from the newest checkpoint in output_dir, or from CHECKPOINT; 'auto' "
        "continues from the newest one when there is one and starts afresh otherwise (the "
        "default when a launcher restarts the job: TORCHELASTIC_RESTART_COUNT or "
        "SLURM_RESTART_COUNT above 0)",
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set training.max_steps=10 (repeatable)",
    )
    plot = commands.add_parser("plot", help="draw loss and learning-rate curves to a PNG")
    plot.add_argument("run", help="an output folder, a checkpoint folder or trainer_state.json")
    plot.add_argument("-o", "--output", default=None, help="PNG path (default: next to the state)")
    commands.add_parser("env", help="print versions for a bug report")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trainer`` command; returns the exit status."""
    options = _parser().parse_args(argv)
    if options.command == "demo":
        if options.which == "moons":
            from trainer import demo

            demo.run(output_dir=options.output_dir or "output/moons", max_steps=options.max_steps)
        else:
            from trainer import lm_demo

            steps = lm_demo.STEPS if options.max_steps is None else options.max_steps
            if steps < 4:
                raise SystemExit(f"--max-steps={steps}: use at least 4")
            lm_demo.run(options.output_dir or "output/harbour-gpt", steps)
    elif options.command == "train":
        from trainer import train_command

        train_command.run(options.config, resume=options.resume, overrides=options.set)
    elif options.command == "plot":
        from trainer.plot import plot_run

        print(plot_run(options.run, options.output))
    else:
        from trainer.env_report import format_report, report

        print(format_report(report()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
