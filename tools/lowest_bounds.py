"""Print pip constraints that hold a package's direct dependencies at their declared lower bounds.

    uv run --no-sync python -m tools.lowest_bounds "trainer-loop[hub]" > constraints.txt

Prints ``name==lower`` for every third-party requirement with a lower bound (``>=``, ``~=`` or
``==``) that the package declares itself, in its dependencies or in the extras named, or that it
asks of a sibling through an extra (``trainer-loop[optuna]`` holds optuna at its bound). A sibling's
own dependencies are left to the resolution: that sibling's run holds them, and holding every bound
of every sibling at once can be unsatisfiable while each one is true. Where two requirements bound
the same dependency, the higher bound wins.

``tools/check_standalone.sh --lowest`` passes this file to ``uv pip install`` next to
``--resolution lowest-direct``: the resolution alone may move a direct dependency above its bound
to suit a transitive one, and then the bound would not be the version tested.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def workspace_packages(root: Path = ROOT) -> dict[str, dict]:
    """Each workspace package's ``[project]`` table, keyed by its canonical name."""
    found = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        found[canonicalize_name(project["name"])] = project
    return found


def lower_bound(requirement: Requirement) -> Version | None:
    """The lowest version a requirement admits as written, or None when it names none."""
    bounds = [
        Version(spec.version)
        for spec in requirement.specifier
        if spec.operator in (">=", "~=", "==") and "*" not in spec.version
    ]
    return max(bounds) if bounds else None


def lowest_constraints(target: str, root: Path = ROOT) -> dict[str, Version]:
    """Third-party name -> lower bound to hold for ``target`` ("name" or "name[extra,...]")."""
    packages = workspace_packages(root)
    start = Requirement(target)
    pending = [(canonicalize_name(start.name), frozenset(start.extras))]
    seen: set[tuple[str, str]] = set()
    bounds: dict[str, Version] = {}
    while pending:
        name, extras = pending.pop()
        project = packages[name]
        groups = [("", project.get("dependencies", []))]
        optional = project.get("optional-dependencies", {})
        groups += [(extra, optional.get(extra, [])) for extra in sorted(extras)]
        for extra, requirements in groups:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            held = name == canonicalize_name(start.name) or extra != ""
            for line in requirements:
                requirement = Requirement(line)
                if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                    continue
                dependency = canonicalize_name(requirement.name)
                if dependency in packages:
                    pending.append((dependency, frozenset(requirement.extras)))
                    continue
                bound = lower_bound(requirement) if held else None
                if bound is not None and bound >= bounds.get(dependency, bound):
                    bounds[dependency] = bound
    return bounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help='a workspace package, optionally with extras: "name[a,b]"')
    args = parser.parse_args(argv)
    try:
        bounds = lowest_constraints(args.package)
    except KeyError as exc:
        print(f"no workspace package named {exc.args[0]}", file=sys.stderr)
        return 2
    for name, version in sorted(bounds.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
