"""The README's usage example must keep working: it is run here as written."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_usage_example_runs() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
