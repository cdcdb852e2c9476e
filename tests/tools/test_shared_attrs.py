"""tools/shared_attrs.py on small fake source trees written to tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from helpers.launch import load_tool

ROOT = Path(__file__).resolve().parents[2]


shared_attrs = load_tool("shared_attrs")

TREE = {
    "trainer.py": """\
        from .mixin import Mixin

        class Trainer(Mixin):
            def __init__(self):
                self._plain = 1
                self._left, (self._right, self.public) = 1, (2, 3)
                self._annotated: int = 0
                setattr(self, "_via_setattr", 4)
                self.__dict__["_via_dict"] = 5
                self.__version__ = "x"
                self._local = 6

            def own(self):
                return self._local
        """,
    "mixin.py": """\
        class Mixin:
            def uses(self):
                def inner():
                    return self._right
                total = self._plain + self._left + inner() + self.public
                total += getattr(self, "_via_setattr", 0) + self.__dict__.get("_via_dict", 0)
                return total + self.__version__ + self._annotated

            def bumps(self):
                self._counter += 1
        """,
    "helpers.py": """\
        def prepare(trainer):
            trainer._from_helper = 1
            trainer._counter = 0
            return hasattr(trainer, "_local")
        """,
    "sub/raft.py": """\
        from ..trainer import Trainer

        class Raft(Trainer):
            def step(self):
                return self._from_helper
        """,
    "callback.py": """\
        class Callback:
            def __init__(self):
                self._plain = 10
                self._cb_state = 1

            def on_step(self, trainer):
                return self._cb_state, trainer.public
        """,
    "other_callback.py": """\
        class OtherCallback:
            def on_end(self):
                return self._cb_state
        """,
}


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def test_trainer_classes_follow_bases_both_ways(tmp_path):
    make_tree(tmp_path, TREE)
    trees = [tree for _, tree in shared_attrs.source_files(tmp_path)]
    assert shared_attrs.trainer_classes(trees) == {"Trainer", "Mixin", "Raft"}


def test_writes_and_reads_of_each_form_are_seen(tmp_path):
    uses = shared_attrs.scan(make_tree(tmp_path, TREE))
    table = {name: (sorted(u.writers), sorted(u.readers)) for name, u in uses.items()}
    # callback.py also writes self._plain, but that self is a callback, not the trainer
    assert table["_plain"] == (["trainer.py"], ["mixin.py"])
    assert table["_left"] == (["trainer.py"], ["mixin.py"])
    assert table["_right"] == (["trainer.py"], ["mixin.py"])  # tuple target; read in a closure
    assert table["public"] == (["trainer.py"], ["callback.py", "mixin.py"])  # trainer.public
    assert table["_annotated"] == (["trainer.py"], ["mixin.py"])
    assert table["_via_setattr"] == (["trainer.py"], ["mixin.py"])
    assert table["_via_dict"] == (["trainer.py"], ["mixin.py"])
    assert table["_local"] == (["trainer.py"], ["helpers.py", "trainer.py"])  # hasattr
    assert table["_from_helper"] == (["helpers.py"], ["sub/raft.py"])
    assert table["_counter"] == (["helpers.py", "mixin.py"], ["mixin.py"])  # += reads and writes
    assert "__version__" not in table and "__dict__" not in table
    assert "_cb_state" not in table


def test_counts_and_report(tmp_path):
    uses = shared_attrs.scan(make_tree(tmp_path, TREE))
    crossing_private = sorted(
        name for name, use in uses.items() if use.crosses_files and shared_attrs.is_private(name)
    )
    assert crossing_private == [
        "_annotated",
        "_counter",
        "_from_helper",
        "_left",
        "_local",
        "_plain",
        "_right",
        "_via_dict",
        "_via_setattr",
    ]
    report = shared_attrs.format_report(uses)
    lines = report.splitlines()
    assert lines[0] == "private trainer attributes written in one file and read in another: 9"
    assert "attributes (any name) written in one file and read in another: 10" in lines
    assert "attributes (any name) written from more than one file: 1" in lines
    row = next(line for line in lines if line.startswith("_counter "))
    assert row.split() == ["_counter", "helpers.py,", "mixin.py", "mixin.py"]


def test_attribute_used_in_one_file_only_does_not_count(tmp_path):
    make_tree(
        tmp_path,
        {
            "trainer.py": """\
                class Trainer:
                    def a(self):
                        self._x = 1
                    def b(self):
                        return self._x
                """,
            "reader.py": "def f(trainer):\n    return trainer.args\n",
        },
    )
    uses = shared_attrs.scan(tmp_path)
    assert not uses["_x"].crosses_files
    assert not uses["args"].crosses_files  # read, never written
    assert shared_attrs.private_crossing_count(uses) == 0


def test_any_self_counts_every_class(tmp_path):
    uses = shared_attrs.scan(make_tree(tmp_path, TREE), any_self=True)
    assert sorted(uses["_cb_state"].writers) == ["callback.py"]
    assert sorted(uses["_cb_state"].readers) == ["callback.py", "other_callback.py"]
    assert sorted(uses["_plain"].writers) == ["callback.py", "trainer.py"]


def test_command_line_max(tmp_path):
    make_tree(tmp_path, TREE)
    tool = [sys.executable, str(ROOT / "tools" / "shared_attrs.py"), "--root", str(tmp_path)]
    within = subprocess.run([*tool, "--max", "9"], capture_output=True, text=True, check=False)
    assert within.returncode == 0, within.stdout + within.stderr
    assert within.stdout.startswith(
        "private trainer attributes written in one file and read in another: 9\n"
    )
    over = subprocess.run([*tool, "--max", "8"], capture_output=True, text=True, check=False)
    assert over.returncode == 1
    assert "9 private trainer attributes cross files; at most 8 allowed" in over.stdout
    assert shared_attrs.main(["--root", str(tmp_path), "--all"]) == 0
