"""tools/release on a copy of the workspace: versions, changelog and the siblings' ranges."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "results")


def copy_workspace(dest: Path) -> Path:
    """The files a release touches or reads: the root pyproject, uv.lock, packages/ and tools/."""
    dest.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "packages", dest / "packages", ignore=IGNORED)
    shutil.copytree(REPO / "tools", dest / "tools", ignore=IGNORED)
    return dest


def run_release(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.release", *args], cwd=root, capture_output=True, text=True
    )


def version_of(root: Path, package: str) -> tuple[str, str]:
    """(pyproject.toml version, __version__) of a package in ``root``."""
    pyproject = (root / "packages" / package / "pyproject.toml").read_text()
    init = root / "packages" / package / "src" / package.replace("-", "_") / "__init__.py"
    return (
        re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1),
        re.search(r'^__version__ = "([^"]+)"', init.read_text(), re.M).group(1),
    )


def add_unreleased_entry(root: Path, package: str, entry: str) -> None:
    changelog = root / "packages" / package / "CHANGELOG.md"
    text = changelog.read_text()
    head = "## [Unreleased]\n"
    assert head in text
    changelog.write_text(text.replace(head, f"{head}\n### Fixed\n\n- {entry}\n", 1))


def sibling_requirements_on(root: Path, package: str) -> list[str]:
    """Every requirement line in another package's pyproject.toml that names ``package``."""
    found = []
    for pyproject in (root / "packages").glob("*/pyproject.toml"):
        if pyproject.parent.name == package:
            continue
        for line in re.findall(r'"([^"]+)"', pyproject.read_text()):
            try:
                requirement = Requirement(line)
            except Exception:
                continue
            if requirement.name == package and requirement.specifier:
                found.append(line)
    return found


def bumped(version: str, part: str) -> str:
    major, minor, patch = Version(version).release
    return {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[part]


@pytest.mark.skipif(shutil.which("uv") is None, reason="the release refreshes uv.lock with uv")
def test_patch_release_of_trainer_data_through_the_wrapper(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    old, declared = version_of(root, "trainer-data")
    assert old == declared
    new = bumped(old, "patch")
    add_unreleased_entry(root, "trainer-data", "Padding keeps the dtype of the labels.")
    siblings_before = {
        p: p.read_text()
        for p in (root / "packages").glob("*/pyproject.toml")
        if "trainer-data" not in str(p)
    }
    pyproject = root / "packages/trainer-data/pyproject.toml"
    init = root / "packages/trainer-data/src/trainer_data/__init__.py"
    pyproject_before, init_before = pyproject.read_text(), init.read_text()

    # The executable wrapper, run with this test's Python environment (uv run --no-sync).
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=sys.prefix)
    done = subprocess.run(
        [str(root / "tools" / "release"), "trainer-data", "patch"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    assert version_of(root, "trainer-data") == (new, new)
    # Only the version lines change in those two files.
    assert pyproject.read_text() == pyproject_before.replace(
        f'version = "{old}"', f'version = "{new}"', 1
    )
    assert init.read_text() == init_before.replace(
        f'__version__ = "{old}"', f'__version__ = "{new}"', 1
    )
    changelog = (root / "packages" / "trainer-data" / "CHANGELOG.md").read_text()
    today = dt.date.today().isoformat()
    # A fresh, empty Unreleased section sits directly above the new version's section ...
    assert (
        f"## [Unreleased]\n\n## [{new}] - {today}\n\n### Fixed\n\n- Padding keeps the dtype"
        in changelog
    )
    # ... and the older versions stay below it.
    assert changelog.index(f"## [{new}]") < changelog.index(f"## [{old}]")
    assert changelog.count("Padding keeps the dtype of the labels.") == 1

    assert f"trainer-data: {old} -> {new}" in done.stdout
    assert f"Every sibling range admits trainer-data {new}" in done.stdout
    # Siblings are left as they were: their ranges already admit a patch release.
    for path, text in siblings_before.items():
        assert path.read_text() == text
    # uv.lock records the new version, and `uv sync --locked` would accept it.
    lock = (root / "uv.lock").read_text()
    assert f'name = "trainer-data"\nversion = "{new}"' in lock
    check = subprocess.run(["uv", "lock", "--check"], cwd=root, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_minor_release_in_0x_names_each_sibling_range_to_widen(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    old, _ = version_of(root, "trainer-data")
    assert Version(old).major == 0, "this test is about 0.x, where a minor bump is breaking"
    new = bumped(old, "minor")
    add_unreleased_entry(root, "trainer-data", "Collators take a new required argument.")
    lock_before = (root / "uv.lock").read_text()
    requirements = sibling_requirements_on(root, "trainer-data")
    assert requirements, "trainer-loop, trainer-seq2seq and trainer depend on trainer-data"

    done = run_release(root, "trainer-data", "minor", "--date", "2027-01-15")

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"do not admit trainer-data {new}" in done.stdout
    next_minor = f"<0.{Version(new).minor + 1}"
    for requirement in requirements:
        # Each range that stops below the new version is named, with one that admits it.
        assert f'"{requirement}" -> "' in done.stdout
        line = next(x for x in done.stdout.splitlines() if f'"{requirement}"' in x)
        suggestion = line.rsplit('-> "', 1)[1].rstrip('"')
        assert Requirement(suggestion).specifier.contains(new)
        assert suggestion.endswith(next_minor)
    for dependent in ("trainer-loop", "trainer-seq2seq", "trainer/pyproject.toml"):
        assert f"packages/{dependent}" in done.stdout
    # The bump itself is written; the lock is left for after the ranges are widened.
    assert version_of(root, "trainer-data") == (new, new)
    assert (
        "## [Unreleased]\n\n## [" + new + "] - 2027-01-15"
        in (root / "packages" / "trainer-data" / "CHANGELOG.md").read_text()
    )
    assert (root / "uv.lock").read_text() == lock_before


def test_versions_that_disagree_stop_the_release(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    old, _ = version_of(root, "trainer-hub")
    add_unreleased_entry(root, "trainer-hub", "Something.")
    init = root / "packages/trainer-hub/src/trainer_hub/__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{old}"', '__version__ = "9.9.9"'))
    before = {p: p.read_bytes() for p in (root / "packages").rglob("*") if p.is_file()}

    done = run_release(root, "trainer-hub", "patch", "--no-lock")

    assert done.returncode == 2
    assert f"pyproject.toml says {old}" in done.stderr and "9.9.9" in done.stderr
    assert {p: p.read_bytes() for p in before} == before


def test_an_empty_unreleased_section_has_nothing_to_release(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    changelog = root / "packages/trainer-args/CHANGELOG.md"
    text = changelog.read_text()
    start = text.index("## [Unreleased]\n") + len("## [Unreleased]\n")
    changelog.write_text(text[:start] + "\n" + text[text.index("## [", start) :])
    before = {p: p.read_bytes() for p in (root / "packages").rglob("*") if p.is_file()}

    done = run_release(root, "trainer-args", "patch", "--no-lock")

    assert done.returncode == 2
    assert "nothing to release" in done.stderr
    assert {p: p.read_bytes() for p in before} == before


def test_dry_run_reports_and_writes_nothing(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    old, _ = version_of(root, "trainer-optim")
    add_unreleased_entry(root, "trainer-optim", "Something.")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    done = run_release(root, "trainer-optim", "major", "--dry-run")

    new = bumped(old, "major")
    assert f"trainer-optim: {old} -> {new}" in done.stdout
    # trainer-loop's range on trainer-optim stops below the next major version too.
    assert "packages/trainer-loop/pyproject.toml" in done.stdout
    assert done.returncode == 1
    assert {p: p.read_bytes() for p in before} == before


def test_unknown_package_is_refused(tmp_path):
    root = copy_workspace(tmp_path / "repo")
    done = run_release(root, "trainer-nope", "patch")
    assert done.returncode == 2
    assert "no workspace package named 'trainer-nope'" in done.stderr
