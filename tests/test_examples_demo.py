"""The main job (examples/demo.py) runs and shows what each package does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_and_reports_each_package() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "origin lookups: 1;" in out
    assert "200 200 200 429 429" in out
    assert "gave up: Elapsed(" in out
    assert out.rstrip().endswith("ok")
