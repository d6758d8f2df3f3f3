"""One entry point for developers: set up the workspace environment, then run the main job,
the tests, the linters or a benchmark in it.

    python tools/dev.py run      # the main job (see README)
    python tools/dev.py test     # every test suite; extra arguments go to pytest
    python tools/dev.py lint     # ruff and mypy --strict over every package
    python tools/dev.py bench X  # tools/bench/X.py

Set-up is idempotent: a virtual environment in .venv gets every package under packages/
installed editable (with its speedups extra where one exists) plus tools/requirements-dev.txt.
It is redone only when one of those files changes. Where the interpreter cannot make a venv,
the current interpreter is used instead.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP_NAME = ".pingora-setup-stamp"
REQUIREMENTS = ROOT / "tools" / "requirements-dev.txt"
MAIN_JOB = ROOT / "examples" / "load_balancer.py"


def package_dirs() -> list[Path]:
    """Every distribution folder under packages/, in a stable order."""
    return sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))


def speedups(package: Path) -> list[str]:
    """The requirements of a package's `speedups` extra (installed beside it, not as
    `-e path[speedups]`, which older pips fail to match against the `==` pins of siblings)."""
    meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    return list(meta.get("optional-dependencies", {}).get("speedups", []))


def setup_fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in [REQUIREMENTS, *(p / "pyproject.toml" for p in package_dirs())]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv() -> Path:
    """The interpreter to install into: the workspace venv, or this one if no venv can be made."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.executable)  # already inside a virtual environment: use it
    if not venv_python().exists():
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as exc:  # any failure means: fall back
            print(f"dev: cannot create {VENV} ({exc}); using {sys.executable}", file=sys.stderr)
            return Path(sys.executable)
    return venv_python()


def ensure_environment() -> Path:
    """Install everything once; return the interpreter that has it."""
    python = make_venv()
    stamp = Path(sys.prefix if python == Path(sys.executable) else VENV) / STAMP_NAME
    fingerprint = setup_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return python
    print("dev: installing the workspace packages and test tools ...", file=sys.stderr)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["-r", str(REQUIREMENTS)]
    for package in package_dirs():
        command += ["-e", str(package), *speedups(package)]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        raise SystemExit("dev: installing the workspace failed (see pip's message above)")
    stamp.write_text(fingerprint)
    return python


def import_names() -> list[str]:
    return sorted(p.name for d in package_dirs() for p in (d / "src").iterdir() if p.is_dir()
                  and (p / "__init__.py").exists())


def call(command: list[str]) -> int:
    """Run `command` in ROOT; its exit status. Ctrl-C is the command's to handle: a terminal
    sends it to the whole process group, so we only wait for the command to stop (no traceback
    of ours, its status kept); one that reached us alone is passed on after two seconds."""
    proc = subprocess.Popen(command, cwd=ROOT)

    def pass_on() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    def on_sigint(signum: int, frame: object) -> None:
        timer = threading.Timer(2.0, pass_on)
        timer.daemon = True
        timer.start()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "lint", "bench", "setup"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = str(ensure_environment())
    if command == "setup":
        return 0
    if command == "run":
        return call([python, str(MAIN_JOB), *rest])
    if command == "test":
        return call([python, "-m", "pytest", *rest])
    if command == "bench":
        if not rest:
            print("dev: which benchmark? " + ", ".join(
                p.stem for p in sorted((ROOT / "tools" / "bench").glob("*.py"))), file=sys.stderr)
            return 2
        return call([python, str(ROOT / "tools" / "bench" / f"{rest[0]}.py"), *rest[1:]])
    status = call([python, "-m", "ruff", "check", "."])
    mypy = [python, "-m", "mypy"]
    for name in import_names():
        mypy += ["-p", name]
    return status or call(mypy)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
