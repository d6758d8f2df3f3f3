"""Every package builds a wheel, and the wheels install and import in a fresh virtual environment.

The fresh environment gets our wheels from the freshly built folder only (never an index) and
`pip check` then proves every internal pin is met by them; third-party dependencies come from the
package index the machine is configured with.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))


def import_name(package: Path) -> str:
    return next(p.name for p in (package / "src").iterdir() if (p / "__init__.py").exists())


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    for package in PACKAGES:
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
             str(package)],
            check=True, capture_output=True,
        )
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_each_package_builds_a_typed_wheel(wheel_dir: Path) -> None:
    for package in PACKAGES:
        project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
        stem = f"{project['name'].replace('-', '_')}-{project['version']}"
        wheels = list(wheel_dir.glob(f"{stem}-*.whl"))
        assert len(wheels) == 1, (stem, sorted(p.name for p in wheel_dir.iterdir()))
        names = zipfile.ZipFile(wheels[0]).namelist()
        module = import_name(package)
        assert f"{module}/__init__.py" in names
        assert f"{module}/py.typed" in names
        assert not any("/tests/" in n or n.startswith("tests/") for n in names)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_meta_package_wheel_installs_with_its_pins(wheel_dir: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = [str(w) for w in sorted(wheel_dir.glob("*.whl"))]
    subprocess.run([*pip, "install", "--no-deps", *wheels], check=True, capture_output=True)
    subprocess.run([*pip, "install", *wheels], check=True, capture_output=True)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    modules = [import_name(p) for p in PACKAGES]
    script = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\nprint('ok')"
    result = subprocess.run([str(python), "-c", script, *modules], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    # the fresh environment must not see the workspace sources
    where = subprocess.run([str(python), "-c", "import pingora; print(pingora.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
