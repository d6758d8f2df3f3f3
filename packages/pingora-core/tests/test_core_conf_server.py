"""ServerConf: Pingora's defaults, every key, and one clear message per mistake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pingora_core.errors import Error, ErrorType
from pingora_core.server import CONFIG_ERROR, ConfigError, ServerConf


def test_defaults_match_pingora() -> None:
    conf = ServerConf()
    assert conf.version == 0
    assert conf.daemon is False
    assert conf.error_log is None
    assert conf.pid_file == "/tmp/pingora.pid"
    assert conf.upgrade_sock == "/tmp/pingora_upgrade.sock"
    assert conf.user is None
    assert conf.group is None
    assert conf.threads == 1
    assert conf.work_stealing is True
    assert conf.ca_file is None
    assert conf.grace_period_seconds == 300
    assert conf.graceful_shutdown_timeout_seconds == 5
    assert conf.client_bind_to_ipv4 == ()
    assert conf.client_bind_to_ipv6 == ()
    assert conf.upstream_keepalive_pool_size == 128
    assert conf.upstream_connect_offload_threadpools is None
    assert conf.upstream_connect_offload_thread_per_pool is None
    assert conf.upstream_debug_ssl_keylog is False
    assert conf.max_retries == 16
    assert conf.event_loop == "auto"
    assert dict(conf.extra) == {}


def test_pingora_load_file_case() -> None:
    conf = ServerConf.from_yaml(
        "\n---\nversion: 1\nclient_bind_to_ipv4:\n    - 1.2.3.4\n    - 5.6.7.8\n"
        "client_bind_to_ipv6: []\n        "
    )
    assert conf.client_bind_to_ipv4 == ("1.2.3.4", "5.6.7.8")
    assert conf.client_bind_to_ipv6 == ()
    assert conf.version == 1


def test_pingora_default_case() -> None:
    conf = ServerConf.from_yaml("\n---\nversion: 1\n        ")
    assert conf.version == 1
    assert conf.pid_file == "/tmp/pingora.pid"
    assert conf.client_bind_to_ipv4 == ()


@pytest.mark.parametrize("text", ["", "---\n", "# only a comment\n"])
def test_empty_document_gives_defaults(text: str) -> None:
    assert ServerConf.from_yaml(text) == ServerConf()


EVERY_KEY = """\
version: 1
daemon: true
error_log: /var/log/pingora.err
pid_file: /run/p.pid
upgrade_sock: /run/p.sock
user: nobody
group: nogroup
threads: 4
work_stealing: false
ca_file: /etc/ca.pem
grace_period_seconds: 30
graceful_shutdown_timeout_seconds: 2.5
client_bind_to_ipv4: [10.0.0.1]
client_bind_to_ipv6: ["::1", "fe80::1"]
upstream_keepalive_pool_size: 64
upstream_connect_offload_threadpools: 2
upstream_connect_offload_thread_per_pool: 3
upstream_debug_ssl_keylog: true
max_retries: 3
event_loop: asyncio
"""


def test_every_key_parsed() -> None:
    conf = ServerConf.from_yaml(EVERY_KEY)
    assert conf == ServerConf(
        version=1,
        daemon=True,
        error_log="/var/log/pingora.err",
        pid_file="/run/p.pid",
        upgrade_sock="/run/p.sock",
        user="nobody",
        group="nogroup",
        threads=4,
        work_stealing=False,
        ca_file="/etc/ca.pem",
        grace_period_seconds=30,
        graceful_shutdown_timeout_seconds=2.5,
        client_bind_to_ipv4=("10.0.0.1",),
        client_bind_to_ipv6=("::1", "fe80::1"),
        upstream_keepalive_pool_size=64,
        upstream_connect_offload_threadpools=2,
        upstream_connect_offload_thread_per_pool=3,
        upstream_debug_ssl_keylog=True,
        max_retries=3,
        event_loop="asyncio",
    )
    # Every field except `extra` was set away from its default by EVERY_KEY.
    default = ServerConf()
    for f in dataclasses.fields(ServerConf):
        if f.name != "extra":
            assert getattr(conf, f.name) != getattr(default, f.name), f.name


def test_null_optional_keys_mean_default() -> None:
    conf = ServerConf.from_yaml(
        "error_log: null\ngrace_period_seconds: ~\ngraceful_shutdown_timeout_seconds:\n"
        "upstream_connect_offload_threadpools: null\n"
    )
    assert conf == ServerConf()


def test_unknown_keys_are_kept_for_the_user() -> None:
    conf = ServerConf.from_yaml("version: 1\nmy_upstream: 1.1.1.1:443\nlimits: {rps: 10}\n")
    assert dict(conf.extra) == {"my_upstream": "1.1.1.1:443", "limits": {"rps": 10}}
    with pytest.raises(TypeError):
        conf.extra["x"] = 1  # type: ignore[index]


def test_yaml_round_trip() -> None:
    conf = ServerConf.from_yaml(EVERY_KEY + "custom: [1, 2]\n")
    again = ServerConf.from_yaml(conf.to_yaml())
    assert again == conf
    assert list(conf.to_dict())[-1] == "custom"


def test_merge_keys_are_followed() -> None:
    conf = ServerConf.from_yaml("base: &b {threads: 2}\n<<: *b\nversion: 1\n")
    assert conf.threads == 2
    assert conf.extra["base"] == {"threads": 2}


BAD = [
    # (yaml text, expected message)
    (
        "version: 1\ndaemon: false\nthreads: four\n",
        "c.yaml:3: threads: expected an integer, got 'four'",
    ),
    ("threads: -1\n", "c.yaml:1: threads: expected a non-negative integer, got -1"),
    ("threads: 1.5\n", "c.yaml:1: threads: expected an integer, got 1.5"),
    ("threads: true\n", "c.yaml:1: threads: expected an integer, got true"),
    ("threads: null\n", "c.yaml:1: threads: expected an integer, got null"),
    ("version: '1'\n", "c.yaml:1: version: expected an integer, got '1'"),
    ("daemon: 1\n", "c.yaml:1: daemon: expected true or false, got 1"),
    ("work_stealing: maybe\n", "c.yaml:1: work_stealing: expected true or false, got 'maybe'"),
    ("pid_file: 12\n", "c.yaml:1: pid_file: expected a string, got 12"),
    ("pid_file: null\n", "c.yaml:1: pid_file: expected a string, got null"),
    ("user: [a]\n", "c.yaml:1: user: expected a string, got a list"),
    ("error_log: {a: 1}\n", "c.yaml:1: error_log: expected a string, got a mapping"),
    (
        "grace_period_seconds: soon\n",
        "c.yaml:1: grace_period_seconds: expected a number of seconds, got 'soon'",
    ),
    (
        "graceful_shutdown_timeout_seconds: -2\n",
        "c.yaml:1: graceful_shutdown_timeout_seconds: expected a non-negative number of seconds,"
        " got -2",
    ),
    (
        "grace_period_seconds: .inf\n",
        "c.yaml:1: grace_period_seconds: expected a non-negative number of seconds, got inf",
    ),
    (
        "client_bind_to_ipv4: 1.2.3.4\n",
        "c.yaml:1: client_bind_to_ipv4: expected a list of strings, got '1.2.3.4'",
    ),
    (
        "version: 1\nclient_bind_to_ipv6:\n  - '::1'\n  - 7\n",
        "c.yaml:4: client_bind_to_ipv6[1]: expected a string, got 7",
    ),
    (
        "upstream_keepalive_pool_size: many\n",
        "c.yaml:1: upstream_keepalive_pool_size: expected an integer, got 'many'",
    ),
    (
        "upstream_connect_offload_threadpools: x\n",
        "c.yaml:1: upstream_connect_offload_threadpools: expected an integer, got 'x'",
    ),
    ("max_retries: -3\n", "c.yaml:1: max_retries: expected a non-negative integer, got -3"),
    (
        "event_loop: trio\n",
        "c.yaml:1: event_loop: expected one of auto, asyncio, uvloop, got 'trio'",
    ),
    ("version: 1\nversion: 2\n", "c.yaml:2: version: duplicate key (first set on line 1)"),
    ("1: a\n", "c.yaml:1: setting names must be strings, got 1"),
    ("- a\n- b\n", "c.yaml:1: expected a mapping of settings, got a list"),
    ("just text\n", "c.yaml:1: expected a mapping of settings, got 'just text'"),
    (
        "version: 1\nthreads: [1\n",
        "c.yaml:3: malformed YAML: expected ',' or ']', but got '<stream end>'",
    ),
    ("a: 1\n b: 2\n", "c.yaml:2: malformed YAML: mapping values are not allowed here"),
    ("a: *nope\n", "c.yaml:1: malformed YAML: found undefined alias 'nope'"),
    (
        "a: 1\n---\nb: 2\n",
        "c.yaml:2: malformed YAML: expected a single document in the stream,"
        " but found another document",
    ),
    (
        "a: !!python/name:os.system x\n",
        "c.yaml:1: malformed YAML: could not determine a constructor"
        " for the tag 'tag:yaml.org,2002:python/name:os.system'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_gives_one_clear_message(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerConf.from_yaml(text, source="c.yaml")
    assert str(info.value) == message
    assert info.value.message == message
    assert isinstance(info.value, Error)
    assert info.value.etype == CONFIG_ERROR == ErrorType.Custom("ConfigError")


def test_load_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("version: 1\nthreads: 2\n")
    assert ServerConf.load(str(path)).threads == 2
    path.write_text("version: 1\ndaemon: false\nthreads: four\n")
    with pytest.raises(
        ConfigError, match=r"conf\.yaml:3: threads: expected an integer, got 'four'"
    ):
        ServerConf.load(str(path))


def test_unreadable_file_is_a_read_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as info:
        ServerConf.load(str(missing))
    assert info.value.etype == ErrorType.FileReadError
    assert str(info.value) == f"{missing}: unable to read conf file: No such file or directory"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="unable to read conf file"):
        ServerConf.load(str(binary))


def test_building_in_code_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="threads: expected an integer, got 'x'"):
        ServerConf(threads="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="extra: threads is a known setting"):
        ServerConf(extra={"threads": 2})
    conf = ServerConf(client_bind_to_ipv4=["1.2.3.4"])  # type: ignore[arg-type]
    assert conf.client_bind_to_ipv4 == ("1.2.3.4",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        conf.threads = 3  # type: ignore[misc]
