"""tools/check_changelogs on a throw-away git repository: when a package's changes need a line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
CHANGELOG = """# Changelog: pkg-a

## [Unreleased]
{unreleased}
## [0.1.0] - 2026-01-01

### Added

- Everything.
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def check(root: Path) -> subprocess.CompletedProcess:
    # Run from this checkout (the tool's code), against the repository under test.
    return subprocess.run(
        [sys.executable, "-m", "tools.check_changelogs", "--root", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def make_package(root: Path, version: str = "0.1.0", unreleased: str = "") -> Path:
    package = root / "packages" / "pkg-a"
    (package / "src" / "pkg_a").mkdir(parents=True, exist_ok=True)
    (package / "pyproject.toml").write_text(
        f'[project]\nname = "pkg-a"\nversion = "{version}"\ndependencies = []\n'
    )
    (package / "src" / "pkg_a" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    write_changelog(package, unreleased)
    return package


def write_changelog(package: Path, unreleased: str) -> None:
    (package / "CHANGELOG.md").write_text(CHANGELOG.format(unreleased=unreleased))


def new_repo(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    package = make_package(root)
    commit_all(root, "pkg-a 0.1.0")
    return root, package


def test_an_unchanged_package_passes_with_an_empty_unreleased_section(tmp_path):
    root, _ = new_repo(tmp_path)
    done = check(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   pkg-a: unchanged since 0.1.0" in done.stdout


def test_a_code_change_without_an_entry_fails_until_one_is_written(tmp_path):
    root, package = new_repo(tmp_path)
    module = package / "src" / "pkg_a" / "core.py"
    module.write_text("VALUE = 1\n")

    # Not committed yet: still seen.
    done = check(root)
    assert done.returncode == 1
    assert "FAIL pkg-a: changed since 0.1.0" in done.stdout
    assert "packages/pkg-a/src/pkg_a/core.py" in done.stdout

    commit_all(root, "add core")
    done = check(root)
    assert done.returncode == 1
    assert "packages/pkg-a/CHANGELOG.md" in done.stdout

    # A heading alone is not an entry.
    write_changelog(package, "\n### Added\n\n")
    assert check(root).returncode == 1

    write_changelog(package, "\n### Added\n\n- `pkg_a.core.VALUE`.\n\n")
    commit_all(root, "changelog")
    done = check(root)
    assert done.returncode == 0, done.stdout
    assert "ok   pkg-a: Unreleased lists changes" in done.stdout


def test_a_dependency_change_needs_an_entry_but_a_readme_change_does_not(tmp_path):
    root, package = new_repo(tmp_path)
    (package / "README.md").write_text("# pkg-a\n")
    commit_all(root, "readme")
    assert check(root).returncode == 0

    pyproject = package / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[]", '["numpy>=2"]'))
    commit_all(root, "needs numpy")
    done = check(root)
    assert done.returncode == 1
    assert "packages/pkg-a/pyproject.toml" in done.stdout


def test_a_release_starts_the_count_again(tmp_path):
    root, package = new_repo(tmp_path)
    (package / "src" / "pkg_a" / "core.py").write_text("VALUE = 1\n")
    write_changelog(package, "\n### Added\n\n- `pkg_a.core.VALUE`.\n\n")
    commit_all(root, "core")

    # The release tool empties Unreleased and bumps the version in one commit.
    released = subprocess.run(
        [sys.executable, "-m", "tools.release", "pkg-a", "patch", "--no-lock", "--root", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert released.returncode == 0, released.stdout + released.stderr
    commit_all(root, "Release pkg-a 0.1.1")
    done = check(root)
    assert done.returncode == 0, done.stdout
    assert "unchanged since 0.1.1" in done.stdout

    (package / "src" / "pkg_a" / "core.py").write_text("VALUE = 2\n")
    commit_all(root, "change after the release")
    done = check(root)
    assert done.returncode == 1
    assert "changed since 0.1.1" in done.stdout


def test_the_first_version_counts_from_the_commit_that_wrote_its_changelog_heading(tmp_path):
    # A package whose version line predates its changelog: code changed before the changelog was
    # written is what that first version holds.
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    package = make_package(root)
    (package / "CHANGELOG.md").unlink()
    commit_all(root, "skeleton")
    (package / "src" / "pkg_a" / "core.py").write_text("VALUE = 1\n")
    commit_all(root, "core")
    assert check(root).returncode == 1  # no changelog at all

    write_changelog(package, "")
    commit_all(root, "changelog with 0.1.0")
    done = check(root)
    assert done.returncode == 0, done.stdout
