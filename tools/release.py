"""Release one workspace package: bump its version, date its changelog, check its siblings' ranges.

    tools/release trainer-data patch          # or: uv run --no-sync python -m tools.release ...
    tools/release trainer-args minor --dry-run

Steps, for package NAME and part major|minor|patch:

1. reads the version in packages/NAME/pyproject.toml and the ``__version__`` line of the package's
   ``__init__.py``; they must agree;
2. refuses when the changelog's Unreleased section lists nothing (nothing to release);
3. writes the new version into both files, and moves the Unreleased entries of
   packages/NAME/CHANGELOG.md under a ``## [X.Y.Z] - YYYY-MM-DD`` heading, leaving an empty
   Unreleased section on top;
4. checks that every sibling requirement on NAME (dependencies and extras) admits the new
   version, and prints each one that does not with a range that would; while the version is 0.x a
   minor bump is breaking, so ``>=0.1,<0.2`` does not admit 0.2.0;
5. refreshes uv.lock (``uv lock``), which records each workspace package's version, so that
   ``uv sync --locked`` keeps working. It is left alone while a range does not admit the version:
   uv could not resolve the workspace then.

Exit status: 0 when released and every range admits the new version; 1 when the files were
updated but some ranges must be widened (widen them, then run ``uv lock``) or uv.lock could not be
refreshed; 2 when nothing was changed (bad arguments, versions that disagree, an empty Unreleased
section).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("major", "minor", "patch")

# The `version = "..."` line of a pyproject's [project] table; the first such line of the file.
PYPROJECT_VERSION = re.compile(r'^version[ \t]*=[ \t]*"(?P<version>[^"]+)"[ \t]*$', re.M)
INIT_VERSION = re.compile(r'^__version__[ \t]*=[ \t]*"(?P<version>[^"]+)"[ \t]*$', re.M)
UNRELEASED = re.compile(r"^## \[Unreleased\][^\n]*\n", re.M)
NEXT_SECTION = re.compile(r"^## ", re.M)


class ReleaseError(Exception):
    """A release that cannot go ahead; nothing has been written."""


@dataclass(frozen=True)
class Package:
    name: str
    directory: Path

    @property
    def pyproject(self) -> Path:
        return self.directory / "pyproject.toml"

    @property
    def changelog(self) -> Path:
        return self.directory / "CHANGELOG.md"

    @property
    def init(self) -> Path:
        module = self.name.replace("-", "_")
        return self.directory / "src" / module / "__init__.py"


@dataclass(frozen=True)
class NarrowRange:
    """A sibling requirement on the released package that leaves the new version out."""

    dependent: str
    pyproject: Path
    group: str  # "dependencies" or "optional-dependencies.<extra>"
    requirement: str
    suggestion: str


def workspace(root: Path) -> dict[str, Package]:
    packages = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        packages[canonicalize_name(name)] = Package(name, pyproject.parent)
    return packages


def read_version(path: Path, pattern: re.Pattern[str]) -> str:
    match = pattern.search(path.read_text())
    if match is None:
        raise ReleaseError(f"{path}: no version line matching {pattern.pattern!r}")
    return match["version"]


def bump(version: str, part: str) -> str:
    parsed = Version(version)
    if parsed.is_prerelease or parsed.is_devrelease or parsed.local or len(parsed.release) != 3:
        raise ReleaseError(f"version {version} is not MAJOR.MINOR.PATCH; edit it by hand")
    major, minor, patch = parsed.release
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def compatible_upper(version: str) -> str:
    """The first version that may break what ``version`` offers: next minor in 0.x, else next major."""
    major, minor, _ = Version(version).release
    return f"0.{minor + 1}" if major == 0 else f"{major + 1}"


def split_unreleased(text: str) -> tuple[str, str, str]:
    """(text before the Unreleased entries, the entries, the rest from the next ``## `` heading)."""
    heading = UNRELEASED.search(text)
    if heading is None:
        raise ReleaseError("the changelog has no '## [Unreleased]' heading")
    following = NEXT_SECTION.search(text, heading.end())
    end = following.start() if following else len(text)
    return text[: heading.end()], text[heading.end() : end], text[end:]


def has_entries(section: str) -> bool:
    """Whether a changelog section lists at least one change (a ``-`` or ``*`` item)."""
    return any(re.match(r"\s*[-*] \S", line) for line in section.splitlines())


def release_changelog(text: str, version: str, date: dt.date) -> str:
    before, entries, rest = split_unreleased(text)
    if not has_entries(entries):
        raise ReleaseError("the changelog's Unreleased section lists no change: nothing to release")
    released = f"## [{version}] - {date.isoformat()}\n\n{entries.strip()}\n\n"
    return f"{before}\n{released}{rest}"


def narrow_ranges(
    packages: dict[str, Package], released: Package, version: str
) -> list[NarrowRange]:
    """Every sibling requirement on ``released`` that does not admit ``version``."""
    target = canonicalize_name(released.name)
    found = []
    for package in packages.values():
        if package is released:
            continue
        project = tomllib.loads(package.pyproject.read_text())["project"]
        groups = [("dependencies", project.get("dependencies", []))]
        groups += [
            (f"optional-dependencies.{extra}", lines)
            for extra, lines in project.get("optional-dependencies", {}).items()
        ]
        for group, lines in groups:
            for line in lines:
                requirement = Requirement(line)
                if canonicalize_name(requirement.name) != target:
                    continue
                if requirement.specifier.contains(version, prereleases=True):
                    continue
                found.append(
                    NarrowRange(
                        dependent=package.name,
                        pyproject=package.pyproject,
                        group=group,
                        requirement=line,
                        suggestion=widened(requirement, version),
                    )
                )
    return found


def widened(requirement: Requirement, version: str) -> str:
    """The requirement with its upper bound moved so that it admits ``version``."""
    # ~= carries its own upper bound; keep only the lower one it implies.
    lower = [
        f">={s.version}" if s.operator == "~=" else str(s)
        for s in requirement.specifier
        if s.operator in (">=", ">", "~=")
    ]
    floor = ",".join(lower) or f">={version}"
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{floor},<{compatible_upper(version)}"


def refresh_lock(root: Path) -> str:
    """Run ``uv lock`` so uv.lock records the new version; returns what was done."""
    if not (root / "uv.lock").exists():
        return "no uv.lock here; nothing to refresh"
    uv = shutil.which("uv")
    if uv is None:
        raise ReleaseError("uv is not on PATH: run `uv lock` before committing")
    done = subprocess.run([uv, "lock", "--quiet"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseError(f"`uv lock` failed:\n{done.stderr.strip()}")
    return "uv.lock refreshed"


def release(
    name: str,
    part: str,
    *,
    root: Path = ROOT,
    today: dt.date | None = None,
    dry_run: bool = False,
    lock: bool = True,
    out=sys.stdout,
) -> int:
    packages = workspace(root)
    package = packages.get(canonicalize_name(name))
    if package is None:
        known = ", ".join(p.name for p in packages.values())
        raise ReleaseError(f"no workspace package named {name!r} (known: {known})")

    current = read_version(package.pyproject, PYPROJECT_VERSION)
    declared = read_version(package.init, INIT_VERSION)
    if current != declared:
        raise ReleaseError(
            f"{package.name}: pyproject.toml says {current} but {package.init.relative_to(root)} "
            f"says __version__ = {declared!r}; make them agree first"
        )
    new = bump(current, part)
    if not package.changelog.exists():
        raise ReleaseError(f"{package.changelog.relative_to(root)} is missing")
    changelog = release_changelog(package.changelog.read_text(), new, today or dt.date.today())
    narrow = narrow_ranges(packages, package, new)

    print(f"{package.name}: {current} -> {new} ({part})", file=out)
    if not dry_run:
        text = package.pyproject.read_text()
        package.pyproject.write_text(PYPROJECT_VERSION.sub(f'version = "{new}"', text, count=1))
        text = package.init.read_text()
        package.init.write_text(INIT_VERSION.sub(f'__version__ = "{new}"', text, count=1))
        package.changelog.write_text(changelog)
        for path in (package.pyproject, package.init, package.changelog):
            print(f"  updated {path.relative_to(root)}", file=out)

    if narrow:
        print(f"\nThese sibling ranges do not admit {package.name} {new}; widen them:", file=out)
        for item in narrow:
            print(
                f"  {item.pyproject.relative_to(root)} [{item.group}]: "
                f'"{item.requirement}" -> "{item.suggestion}"',
                file=out,
            )
        print(
            "Each widened sibling needs a changelog line and its own release; then run `uv lock`.",
            file=out,
        )
        return 1
    print(f"Every sibling range admits {package.name} {new}.", file=out)
    if not dry_run and lock:
        try:
            print(refresh_lock(root), file=out)
        except ReleaseError as exc:
            print(f"release: version and changelog written, but {exc}", file=sys.stderr)
            return 1
    if not dry_run:
        print(
            f"Next: review and commit, e.g. git commit -am 'Release {package.name} {new}'",
            file=out,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/release",
        description="Bump one package's version, date its changelog, check its siblings' ranges.",
    )
    parser.add_argument("package", help="workspace package name, e.g. trainer-data")
    parser.add_argument("part", choices=PARTS, help="which part of MAJOR.MINOR.PATCH to bump")
    parser.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    parser.add_argument("--no-lock", action="store_true", help="do not run `uv lock` afterwards")
    parser.add_argument("--date", type=dt.date.fromisoformat, help="release date (default today)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return release(
            args.package,
            args.part,
            root=args.root.resolve(),
            today=args.date,
            dry_run=args.dry_run,
            lock=not args.no_lock,
        )
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
