"""Opt (the command line) and the `-t` configuration test, run as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pingora_core.server import Opt, Server, ServerConf

SCRIPT = (
    "from pingora_core.server import Opt, Server\n"
    "server = Server(Opt.parse_args())\n"
    "server.bootstrap()\n"
    "print('bootstrapped, threads =', server.configuration.threads)\n"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_parse_args() -> None:
    assert Opt.parse_args([]) == Opt()
    assert Opt.parse_args(["-c", "a.yaml"]) == Opt(conf="a.yaml")
    assert Opt.parse_args(["--conf", "a.yaml", "--test"]) == Opt(conf="a.yaml", test=True)
    assert Opt.parse_args(["-t"]) == Opt(test=True)


def test_parser_can_be_extended() -> None:
    parser = Opt.parser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(["-c", "x.yaml", "--port", "8080"])
    assert Opt.from_args(args) == Opt(conf="x.yaml")
    assert args.port == 8080


def test_unknown_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        Opt.parse_args(["--daemon"])
    assert info.value.code == 2
    assert "unrecognized arguments: --daemon" in capsys.readouterr().err


def test_opt_checks_its_fields() -> None:
    with pytest.raises(TypeError, match=r"Opt\.conf"):
        Opt(conf=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Opt\.test"):
        Opt(test="yes")  # type: ignore[arg-type]


def test_server_loads_the_conf_named_by_opt(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("version: 1\nthreads: 3\nmine: 1\n")
    server = Server(Opt(conf=str(path)))
    assert server.configuration.threads == 3
    assert server.configuration.extra["mine"] == 1
    assert Server().configuration == ServerConf()
    given = ServerConf(threads=7)
    assert Server(Opt(conf=str(path)), given).configuration is given


def test_bad_conf_from_the_command_line_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("threads: x\n")
    with pytest.raises(SystemExit) as info:
        Server(Opt(conf=str(path)))
    assert info.value.code == 1
    assert capsys.readouterr().err == f"error: {path}:1: threads: expected an integer, got 'x'\n"


def test_dash_t_valid_config_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("version: 1\nthreads: 2\n")
    result = run_cli("-t", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert f"{path}: configuration test passed" in result.stdout
    assert "threads: 2" in result.stdout
    assert "bootstrapped" not in result.stdout


def test_dash_t_without_conf_tests_the_defaults() -> None:
    result = run_cli("--test")
    assert result.returncode == 0, result.stderr
    assert "default configuration: configuration test passed" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\ndaemon: false\nthreads: four\n",
            ":3: threads: expected an integer, got 'four'",
        ),
        ("version: [1\n", ":2: malformed YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_dash_t_bad_config_exits_1_without_traceback(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    result = run_cli("-t", "-c", str(path))
    assert result.returncode == 1
    assert result.stderr == f"error: {path}{message}\n"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_dash_t_missing_file_exits_1(tmp_path: Path) -> None:
    result = run_cli("-t", "-c", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "unable to read conf file: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_dash_t_bootstrap_returns(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("threads: 5\n")
    result = run_cli("-c", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "bootstrapped, threads = 5\n"
