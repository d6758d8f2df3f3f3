"""The README's error-model example runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

EXPECTED = [
    " HTTPStatus context: proxying /index.html cause: Upstream ReadError"
    " context: reading the response body cause: [Errno 104] Connection reset by peer",
    "ReadError ConnectionResetError False",
    "Downstream ConnectRefused context: retrying cause:  context: dialling 192.0.2.1:80",
]


def test_readme_example_prints_what_it_says() -> None:
    errors_section = README.read_text().split("## The error model", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", errors_section, flags=re.DOTALL)
    assert blocks
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme"})
    assert out.getvalue().splitlines() == EXPECTED
