"""`tools/dev.py` runs the main job, the tests and the benchmarks as child processes: a Ctrl-C
stops the child and ends dev.py with the child's status, without a traceback of dev.py's own,
whether it reached the whole process group (a terminal) or dev.py alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# a child that stops with status 3 on SIGINT, once it said it is ready
CHILD = """
import signal, sys
def stop(*_):
    print("child stopping", flush=True)
    sys.exit(3)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
while True:
    signal.pause()
"""

# dev.py's `call` running that child
HARNESS = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("dev", {str(ROOT / "tools" / "dev.py")!r})
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)
sys.exit(dev.call([sys.executable, "-c", {CHILD!r}]))
"""


def run_harness(to_group: bool) -> tuple[int, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HARNESS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode, out, err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("to_group", [True, False], ids=["terminal", "dev.py alone"])
def test_ctrl_c_stops_the_child_and_ends_with_its_status(to_group: bool) -> None:
    status, out, err = run_harness(to_group)
    assert status == 3, (out, err)
    assert "child stopping" in out
    assert "Traceback" not in err
