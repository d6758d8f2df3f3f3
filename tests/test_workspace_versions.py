"""The workspace moves as one: every package has the same version and pins its siblings with ==."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUMP = ROOT / "tools" / "bump_version.py"


def read_projects(root: Path) -> dict[str, dict[str, object]]:
    return {
        p.parent.name: tomllib.loads(p.read_text())["project"]
        for p in sorted((root / "packages").glob("*/pyproject.toml"))
    }


def test_every_package_has_the_same_version() -> None:
    versions = {name: project["version"] for name, project in read_projects(ROOT).items()}
    assert len(set(versions.values())) == 1, versions


def test_internal_dependencies_are_pinned_exactly() -> None:
    result = subprocess.run([sys.executable, str(BUMP), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_folder_names_match_distribution_names() -> None:
    for folder, project in read_projects(ROOT).items():
        assert project["name"] == folder


def test_installed_metadata_matches_the_source() -> None:
    for folder, project in read_projects(ROOT).items():
        assert importlib.metadata.version(folder) == project["version"]


def copy_workspace(tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(ROOT / "packages", copy / "packages",
                    ignore=shutil.ignore_patterns("src", "tests", "*.md"))
    (copy / "tools").mkdir()
    shutil.copy(BUMP, copy / "tools" / BUMP.name)
    return copy


def test_bump_moves_every_version_and_pin(tmp_path: Path) -> None:
    copy = copy_workspace(tmp_path)
    bump = copy / "tools" / BUMP.name
    subprocess.run([sys.executable, str(bump), "9.8.7"], check=True, capture_output=True)
    projects = read_projects(copy)
    assert {p["version"] for p in projects.values()} == {"9.8.7"}
    meta = projects["pingora"]
    dependencies = meta["dependencies"]
    assert isinstance(dependencies, list)
    assert all(d.endswith("==9.8.7") for d in dependencies if d.startswith("pingora-"))
    check = subprocess.run([sys.executable, str(bump), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_check_reports_a_stale_pin(tmp_path: Path) -> None:
    copy = copy_workspace(tmp_path)
    meta = copy / "packages" / "pingora" / "pyproject.toml"
    version = read_projects(copy)["pingora"]["version"]
    meta.write_text(meta.read_text().replace(f'"pingora-http=={version}"', '"pingora-http==0.0.9"'))
    check = subprocess.run([sys.executable, str(copy / "tools" / BUMP.name), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 1
    assert "pingora-http==0.0.9" in check.stderr


@pytest.mark.parametrize("bad", ["one", "1.2", "v1.2.3"])
def test_bump_refuses_a_malformed_version(tmp_path: Path, bad: str) -> None:
    copy = copy_workspace(tmp_path)
    result = subprocess.run([sys.executable, str(copy / "tools" / BUMP.name), bad],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "is not a version" in result.stderr
