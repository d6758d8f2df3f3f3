"""The README's usage example must keep working: it is run here as written."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_usage_example_runs() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) == 3, "README lost an example"
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})


def test_readme_server_and_discovery_examples_build() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", readme, re.S)[1:]:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
