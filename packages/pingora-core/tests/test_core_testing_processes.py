"""`start_program` / `ServerProcess`: real child programs (small Python scripts) that print a ready
line, write to stderr, exit on signals or on their own; every wait is bounded."""

from __future__ import annotations

import signal
import sys

import pytest

from pingora_core.testing import LISTENING, start_program

pytestmark = pytest.mark.anyio

SERVER = """
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(3 if len(sys.argv) > 1 else 0))
print("starting", flush=True)
sys.stderr.write("to stderr\\n"); sys.stderr.flush()
print("listening on http://127.0.0.1:4321", flush=True)
signal.pause()
"""


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


async def test_ready_line_gives_the_address_and_sigterm_stops_it() -> None:
    async with start_program(python(SERVER)) as program:
        assert program.lines == ["starting", "listening on http://127.0.0.1:4321"]
        assert program.address == "127.0.0.1:4321"
        assert (program.host, program.port) == ("127.0.0.1", 4321)
        assert program.url("/x") == "http://127.0.0.1:4321/x"
        assert "pid=" in repr(program)
        assert program.returncode is None
    assert await program.wait() == 0
    assert program.stderr_text() == "to stderr\n", repr(program)


async def test_an_unexpected_exit_status_fails() -> None:
    with pytest.raises(AssertionError, match="exited with 3, expected 0"):
        async with start_program(python(SERVER, "fail")):
            pass


async def test_expect_exit_none_accepts_any_status() -> None:
    async with start_program(python(SERVER, "fail"), expect_exit=None) as program:
        pass
    assert program.returncode == 3


async def test_a_program_that_exits_before_ready_fails_with_its_output() -> None:
    code = "import sys; print('oops', flush=True); sys.stderr.write('boom'); sys.exit(1)"
    with pytest.raises(AssertionError, match=r"stdout closed before it was ready.*oops.*boom"):
        async with start_program(python(code)):
            pytest.fail("never ready")


async def test_a_program_never_ready_is_killed_at_the_deadline() -> None:
    with pytest.raises(AssertionError, match=r"not ready after 0\.5s"):
        async with start_program(python("import signal; signal.pause()"), time_limit=0.5):
            pytest.fail("never ready")


async def test_custom_ready_pattern_and_stop_signal() -> None:
    code = "import signal; print('up at 10.0.0.1:80 now', flush=True); signal.pause()"
    async with start_program(
        python(code), ready=r"up at (?P<address>\S+)", stop_signal=signal.SIGKILL,
        expect_exit=-signal.SIGKILL,
    ) as program:
        assert program.address == "10.0.0.1:80"


async def test_the_block_may_stop_it_itself() -> None:
    async with start_program(python(SERVER)) as program:
        assert await program.stop(signal.SIGTERM) == 0
        assert await program.stop() == 0  # already gone: no signal, same status


def test_listening_pattern() -> None:
    assert LISTENING.match("listening on 127.0.0.1:1") is not None
    match = LISTENING.match("listening on http://[::1]:8080")
    assert match is not None
    assert match["address"] == "[::1]:8080"
    assert LISTENING.match("not listening on x") is None


async def test_empty_argv_is_refused() -> None:
    with pytest.raises(ValueError, match="argv"):
        async with start_program([]):
            pass
