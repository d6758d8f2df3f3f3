"""Set one version on every package of the workspace, and every internal `==` pin to it.

    python tools/bump_version.py 0.2.0
    python tools/bump_version.py --check      # exit 1 if versions or pins disagree

Every package under packages/ carries the same version; packages pin each other with `==`.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_LINE = re.compile(r'^version = "[^"]*"$', re.MULTILINE)
VERSION_SHAPE = re.compile(r"^\d+\.\d+\.\d+([ab]|rc|\.dev|\.post)?\d*$")


def pyprojects() -> list[Path]:
    return sorted((ROOT / "packages").glob("*/pyproject.toml"))


def internal_names() -> set[str]:
    return {tomllib.loads(p.read_text())["project"]["name"] for p in pyprojects()}


def pin_pattern(names: set[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(
        rf'"(?P<name>{alternatives})(?P<extras>\[[^\]]*\])?==[^";]*(?P<marker>;[^"]*)?"'
    )


def problems() -> list[str]:
    """Every disagreement between package versions and internal pins."""
    names = internal_names()
    found: list[str] = []
    versions = {}
    for path in pyprojects():
        project = tomllib.loads(path.read_text())["project"]
        versions[project["name"]] = project["version"]
    expected = sorted(set(versions.values()))
    if len(expected) != 1:
        found.append(f"packages disagree on the version: {versions}")
    version = expected[0]
    for path in pyprojects():
        project = tomllib.loads(path.read_text())["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for requirement in requirements:
            name = re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0]
            if name in names and f"=={version}" not in requirement:
                found.append(f"{path.relative_to(ROOT)}: {requirement!r} is not pinned =={version}")
    return found


def bump(version: str) -> None:
    if not VERSION_SHAPE.match(version):
        raise SystemExit(f"bump_version: {version!r} is not a version like 1.2.3")
    pins = pin_pattern(internal_names())
    for path in pyprojects():
        text = VERSION_LINE.sub(f'version = "{version}"', path.read_text(), count=1)
        text = pins.sub(lambda m: f'"{m["name"]}{m["extras"] or ""}=={version}{m["marker"] or ""}"',
                        text)
        path.write_text(text)
        print(f"{path.relative_to(ROOT)} -> {version}")


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    bump(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
