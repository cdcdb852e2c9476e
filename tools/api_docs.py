"""Write the API reference pages (docs/api/*.md) from each package's ``__all__``.

    uv run --no-sync python -m tools.api_docs          # rewrite the pages
    uv run --no-sync python -m tools.api_docs --check  # exit 1 if a page is out of date

Each package gets one page with a ``::: package.name`` entry per public name, so mkdocstrings
renders it from the docstring. Names are always referenced by their package-level path (as
exported from the package's ``__init__``), never by the module that defines them, so moving code
between modules inside a package does not break the reference. The meta-package ``trainer``
re-exports names from the other packages: its page links each one to the page of the package
that owns it, and documents the few names it defines itself.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "docs" / "api"
SOURCE_DIRS = sorted((ROOT / "packages").glob("*/src"))

# (import name, distribution, one line about it); lower layers first
PACKAGES = [
    ("trainer_args", "trainer-args", "`TrainingArguments`, the enums and `HfArgumentParser`."),
    ("trainer_data", "trainer-data", "Collators, samplers, column handling and dataloaders."),
    (
        "trainer_optim",
        "trainer-optim",
        "Optimizers by name, Adafactor and the learning-rate schedules.",
    ),
    (
        "trainer_dist",
        "trainer-dist",
        "Devices, mixed precision and several processes through accelerate.",
    ),
    ("trainer_hub", "trainer-hub", "Model cards and pushing to the Hugging Face Hub."),
    (
        "trainer_loop",
        "trainer-loop",
        "`Trainer`, callbacks, checkpoints, result types and `RaftTrainer`.",
    ),
    ("trainer_seq2seq", "trainer-seq2seq", "`Seq2SeqTrainer` and `Seq2SeqTrainingArguments`."),
]
META = "trainer"

# `trainer` names whose home is `trainer` itself are read from this module (the meta-package
# resolves every name lazily, so a static reader cannot follow them from `trainer/__init__.py`)
META_OWN_MODULE = "trainer.compat"


def public_names(package: str) -> list[str]:
    """The package's ``__all__`` in the order a reader scans it: alphabetical, dunders last."""
    names = list(importlib.import_module(package).__all__)
    return sorted(names, key=lambda n: (n.startswith("__"), n.lower()))


def static_members(package: str) -> dict[str, object]:
    """What a static reader (griffe, which mkdocstrings uses) finds in the package's ``__init__``.

    A name the package hands out lazily through a module ``__getattr__`` is not among them.
    """
    import griffe

    module = griffe.load(package, search_paths=[str(p) for p in SOURCE_DIRS], resolve_aliases=False)
    return dict(module.members)


def external_module(package: str, name: str) -> str | None:
    """The module of a name re-exported from outside the workspace (torch, ...), else None."""
    value = getattr(importlib.import_module(package), name)
    is_code = inspect.isclass(value) or inspect.isroutine(value)
    module = getattr(value, "__module__", None) if is_code else None
    ours = {META, *(p for p, _, _ in PACKAGES)}
    if module and module.split(".")[0] not in ours:
        return module
    return None


def entry(package: str, name: str, members: dict[str, object]) -> str:
    """The mkdocstrings block for one name."""
    if name in members:
        external = external_module(package, name)
        if external is None:
            return f"::: {package}.{name}\n"
        # not ours to document: say what it is
        return (
            f"[](){{#{package}.{name}}}\n## `{package}.{name}`\n\n"
            f"The same object as `{external}.{name}`, exported here for convenience.\n"
        )
    # exported lazily: render it from the module that defines it, under the heading users import
    home = getattr(getattr(importlib.import_module(package), name), "__module__", None)
    if not home or not home.startswith(package + "."):
        raise SystemExit(f"{package}.{name}: exported lazily and its module is unknown")
    return aliased_entry(f"{home}.{name}", f"{package}.{name}")


def aliased_entry(source: str, public: str) -> str:
    """Render ``source`` under the heading ``public``, with an anchor so ``[x][public]`` links."""
    return (
        f"[](){{#{public}}}\n"
        f'::: {source}\n    options:\n        heading: "{public}"\n'
        f'        toc_label: "{public}"\n'
    )


def package_page(package: str, dist: str, about: str) -> str:
    names = public_names(package)
    lines = [
        f"# `{package}`",
        "",
        f"{about} Install with `pip install {dist}`; import with `import {package}`.",
        "",
        f"Every name in `{package}.__all__`, {len(names)} in all.",
        "",
    ]
    members = static_members(package)
    for name in names:
        lines.append(entry(package, name, members))
    return "\n".join(lines)


def owner(name: str) -> str | None:
    """The lower package whose ``__all__`` exports the same object as ``trainer.<name>``."""
    value = getattr(importlib.import_module(META), name)
    for package, _, _ in reversed(PACKAGES):
        module = importlib.import_module(package)
        if name in module.__all__ and getattr(module, name) is value:
            return package
    return None


def meta_page() -> str:
    names = public_names(META)
    own = [n for n in names if owner(n) is None]
    lines = [
        "# `trainer`",
        "",
        "The meta-package: `pip install trainer` installs every package below, and "
        "`from trainer import Trainer, TrainingArguments` works as it does with transformers. "
        f"`trainer.__all__` holds {len(names)} names. All but {len(own)} are the same objects as "
        "in the package that owns them, documented on that package's page; the table says where.",
        "",
        "| name | documented as |",
        "|---|---|",
    ]
    for name in names:
        home = owner(name)
        public = f"{home or META}.{name}"
        target = f"[`{public}`][{public}]"
        lines.append(f"| `trainer.{name}` | {target} |")
    lines += ["", "## Defined in `trainer`", ""]
    for name in own:
        lines.append(aliased_entry(f"{META_OWN_MODULE}.{name}", f"{META}.{name}"))
    return "\n".join(lines)


def index_page() -> str:
    lines = [
        "# API reference",
        "",
        "One page per package, generated from the docstrings. Every name a package exports in its "
        "`__all__` has an entry on its page (`python -m tools.api_docs` writes the pages and a "
        "test checks that none is missing). Names are listed by the path you import them from.",
        "",
        "| package | what it holds |",
        "|---|---|",
        "| [`trainer`](trainer.md) | the meta-package: re-exports the documented API, "
        "`install_as_transformers` |",
    ]
    for package, _, about in PACKAGES:
        lines.append(f"| [`{package}`]({package}.md) | {about} |")
    return "\n".join(lines) + "\n"


def pages() -> dict[Path, str]:
    """Every reference page, by path."""
    out = {API_DIR / "index.md": index_page(), API_DIR / f"{META}.md": meta_page()}
    for package, dist, about in PACKAGES:
        out[API_DIR / f"{package}.md"] = package_page(package, dist, about)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a page is out of date")
    options = parser.parse_args(argv)
    stale = []
    for path, text in pages().items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not options.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        verb = "out of date" if options.check else "written"
        print(f"{path.relative_to(ROOT)}: {verb}")
    if options.check and stale:
        print("run: uv run --no-sync python -m tools.api_docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
