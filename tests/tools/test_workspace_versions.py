"""The workspace's version rules: one version per package, compatible sibling ranges, changelogs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in (REPO / "packages").glob("*/pyproject.toml"))
NAMES = {canonicalize_name(p.name) for p in PACKAGES}


def project(package: Path) -> dict:
    return tomllib.loads((package / "pyproject.toml").read_text())["project"]


def sibling_requirements(package: Path) -> list[tuple[str, Requirement]]:
    meta = project(package)
    lines = [("dependencies", line) for line in meta.get("dependencies", [])]
    for extra, group in meta.get("optional-dependencies", {}).items():
        lines += [(f"extra {extra}", line) for line in group]
    found = []
    for where, line in lines:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name in NAMES and name != canonicalize_name(meta["name"]):
            found.append((where, requirement))
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_pyproject_version_and_dunder_version_agree(package):
    init = package / "src" / package.name.replace("-", "_") / "__init__.py"
    declared = re.search(r'^__version__ = "([^"]+)"$', init.read_text(), re.M)
    assert declared, f"{init} has no literal __version__ line (tools/release edits it)"
    assert declared.group(1) == project(package)["version"]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_siblings_are_required_through_ranges_that_admit_their_version(package):
    versions = {canonicalize_name(p.name): project(p)["version"] for p in PACKAGES}
    for where, requirement in sibling_requirements(package):
        operators = {spec.operator for spec in requirement.specifier}
        assert not operators & {"==", "==="}, f"{package.name} ({where}) pins {requirement}"
        assert "<" in operators, f"{package.name} ({where}): {requirement} has no upper bound"
        assert ">=" in operators, f"{package.name} ({where}): {requirement} has no lower bound"
        assert requirement.specifier.contains(versions[canonicalize_name(requirement.name)])


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_has_a_changelog_with_its_current_version(package):
    changelog = (package / "CHANGELOG.md").read_text()
    version = project(package)["version"]
    assert re.search(r"^## \[Unreleased\]$", changelog, re.M)
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{version}]")


def lowest(target: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "tools.lowest_bounds", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("==") for line in done.stdout.split())


def test_lowest_bounds_hold_the_package_own_bounds_and_those_of_the_extras_it_asks_for():
    loop = lowest("trainer-loop")
    declared = {
        Requirement(r).name: r for r in project(REPO / "packages/trainer-loop")["dependencies"]
    }
    assert f"torch>={loop['torch']}" == declared["torch"]
    # accelerate is trainer-dist's requirement: trainer-dist's own run holds it.
    assert "accelerate" not in loop
    # The meta-package asks for trainer-loop[optuna] and trainer-data[datasets].
    meta = lowest("trainer")
    assert "optuna" in meta and "datasets" in meta
    assert "torch" not in meta


def test_lowest_bounds_refuses_an_unknown_package():
    done = subprocess.run(
        [sys.executable, "-m", "tools.lowest_bounds", "trainer-nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "trainer-nope" in done.stderr
