"""The ``trainer`` command: ``trainer demo`` and ``trainer train CONFIG``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trainer", description="Train with the drop-in Trainer.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="train the bundled classifier on the bundled data")
    train = commands.add_parser(
        "train", help="train the bundled classifier with TrainingArguments from a file"
    )
    train.add_argument("config", help="a JSON or YAML file of TrainingArguments fields")
    options = parser.parse_args(argv)

    from trainer import demo

    if options.command == "demo":
        demo.run()
        return 0
    from trainer import HfArgumentParser, TrainingArguments

    args_parser = HfArgumentParser(TrainingArguments)
    if options.config.endswith((".yaml", ".yml")):
        (args,) = args_parser.parse_yaml_file(options.config)
    else:
        (args,) = args_parser.parse_json_file(options.config)
    demo.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
