"""Fail when a package changed since its last release and its changelog's Unreleased section is empty.

    uv run --no-sync python -m tools.check_changelogs [--root PATH]

For each package under packages/, the last release is the newer of two commits: the last one that
changed the ``version = ...`` line of its pyproject.toml, and the one that added the current
version's heading (``## [X.Y.Z]``) to its CHANGELOG.md (the release tool makes both in one commit;
the heading alone marks the first version, which no bump introduced). Any difference since that
commit in the package's ``src/`` or pyproject.toml, committed or not, must be described by at least
one entry under ``## [Unreleased]``. Needs the git history back to those commits (a full clone, as
CI makes; a shallow one is reported).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

from tools.release import ReleaseError, has_entries, split_unreleased

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Verdict:
    package: str
    ok: bool
    message: str


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def newer(root: Path, first: str, second: str) -> str:
    """The later of two commits: a descendant wins, else the later commit date."""
    if not first or not second:
        return first or second
    ancestor = subprocess.run(
        ["git", "merge-base", "--is-ancestor", first, second], cwd=root, capture_output=True
    )
    if ancestor.returncode == 0:
        return second
    reverse = subprocess.run(
        ["git", "merge-base", "--is-ancestor", second, first], cwd=root, capture_output=True
    )
    if reverse.returncode == 0:
        return first
    dates = {c: int(git(root, "show", "-s", "--format=%ct", c)) for c in (first, second)}
    return max((first, second), key=dates.__getitem__)


def last_release(root: Path, directory: str, version: str) -> str:
    """The commit of the package's last release ('' when git knows none)."""
    pyproject, changelog = f"{directory}/pyproject.toml", f"{directory}/CHANGELOG.md"
    version_line = r"^version[[:space:]]*="
    bumped = git(root, "log", "-1", "--format=%H", "-G", version_line, "--", pyproject)
    headed = git(root, "log", "-1", "--format=%H", "-S", f"## [{version}]", "--", changelog)
    return newer(root, bumped, headed)


def changed_since(root: Path, commit: str, directory: str) -> list[str]:
    """Files of the package's src/ and pyproject.toml that differ from ``commit`` (work tree included)."""
    paths = [f"{directory}/src", f"{directory}/pyproject.toml"]
    changed = git(root, "diff", "--name-only", commit, "--", *paths).splitlines()
    untracked = git(root, "ls-files", "--others", "--exclude-standard", "--", *paths).splitlines()
    return sorted({p for p in changed + untracked if p and "__pycache__" not in p})


def check_package(root: Path, pyproject: Path) -> Verdict:
    directory = pyproject.parent.relative_to(root).as_posix()
    project = tomllib.loads(pyproject.read_text())["project"]
    name, version = project["name"], project["version"]
    changelog = pyproject.parent / "CHANGELOG.md"
    if not changelog.exists():
        return Verdict(name, False, f"{directory}/CHANGELOG.md is missing")
    try:
        _, unreleased, _ = split_unreleased(changelog.read_text())
    except ReleaseError as exc:
        return Verdict(name, False, f"{directory}/CHANGELOG.md: {exc}")
    if has_entries(unreleased):
        return Verdict(name, True, "Unreleased lists changes")
    commit = last_release(root, directory, version)
    if not commit:
        return Verdict(name, False, f"git knows no commit of {directory}; is it committed?")
    changed = changed_since(root, commit, directory)
    if not changed:
        return Verdict(name, True, f"unchanged since {version} ({commit[:10]})")
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return Verdict(
        name,
        False,
        f"changed since {version} ({commit[:10]}): {shown}; describe the change under "
        f"'## [Unreleased]' in {directory}/CHANGELOG.md",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: here)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if git(root, "rev-parse", "--is-shallow-repository") == "true":
        print(
            "check_changelogs: shallow clone; releases older than its history are not seen "
            "(git fetch --unshallow)",
            file=sys.stderr,
        )
    failed = 0
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        verdict = check_package(root, pyproject)
        print(f"{'ok  ' if verdict.ok else 'FAIL'} {verdict.package}: {verdict.message}")
        failed += not verdict.ok
    if failed:
        print(f"{failed} package(s) changed without a changelog entry", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
