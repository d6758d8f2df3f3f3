"""The public names of pingora_proxy and pingora_proxy.testing, and the clear errors bad input
gets: argument order, types, settings, the error-to-status table."""

from __future__ import annotations

from typing import Any

import pytest

import pingora_proxy
import pingora_proxy.testing
from pingora_core.connectors import Connector
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.server import ServerConf
from pingora_core.upstreams import HttpPeer
from pingora_proxy import (
    ALLOW_CONNECT_KEY,
    FailToProxy,
    HttpProxy,
    ProxyHttp,
    Session,
    error_status,
    http_proxy,
    http_proxy_service,
)


def test_public_names_are_locked() -> None:
    assert set(pingora_proxy.__all__) == {
        "ALLOW_CONNECT_KEY",
        "DEFAULT_SERVICE_NAME",
        "HOP_BY_HOP",
        "RETRY_BUFFER_SIZE",
        "DownstreamSession",
        "FailToProxy",
        "HttpProxy",
        "ProxyHttp",
        "Session",
        "error_status",
        "http_proxy",
        "http_proxy_service",
        "strip_hop_by_hop",
    }
    assert set(pingora_proxy.testing.__all__) == {
        "ClientResponse",
        "Handler",
        "HandlerResult",
        "Headers",
        "InMemoryUpstream",
        "ProxyTestClient",
        "read_head",
    }
    for module in (pingora_proxy, pingora_proxy.testing):
        for name in module.__all__:
            assert getattr(module, name) is not None


class App(ProxyHttp[None]):
    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer("127.0.0.1:1")


def test_upstream_peer_is_required() -> None:
    class Nothing(ProxyHttp[None]):
        pass

    with pytest.raises(TypeError, match="upstream_peer"):
        Nothing()  # type: ignore[abstract]


def test_bad_construction_is_refused_clearly() -> None:
    conf = ServerConf()
    with pytest.raises(TypeError, match="ProxyHttp comes first"):
        HttpProxy(conf, App())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ServerConf comes first"):
        http_proxy(App(), conf)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a ProxyHttp"):
        HttpProxy(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="conf must be a ServerConf"):
        HttpProxy(App(), {"max_retries": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="allow_connect must be a bool"):
        HttpProxy(App(), allow_connect="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="connector must be a Connector"):
        HttpProxy(App(), connector=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keepalive_timeout"):
        HttpProxy(App(), keepalive_timeout=0)
    with pytest.raises(TypeError, match=ALLOW_CONNECT_KEY):
        HttpProxy(App(), ServerConf(extra={ALLOW_CONNECT_KEY: "yes"}))

    class AsyncCtx(App):
        async def new_ctx(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(TypeError, match="new_ctx"):
        HttpProxy(AsyncCtx())


def test_settings_come_from_the_server_conf() -> None:
    conf = ServerConf(max_retries=3, extra={ALLOW_CONNECT_KEY: True})
    proxy = http_proxy(conf, App())
    assert proxy.max_retries == 3
    assert proxy.allow_connect
    assert HttpProxy(App(), ServerConf(max_retries=0)).max_retries == 1  # one attempt at least
    assert not HttpProxy(App(), conf, allow_connect=False).allow_connect
    connector = Connector(4)
    assert HttpProxy(App(), connector=connector).connector is connector
    service = http_proxy_service(conf, App(), name="edge")
    assert service.name == "edge"
    assert isinstance(service.app, HttpProxy)
    assert "max_retries=3" in repr(proxy)


def test_fail_to_proxy_result_is_validated() -> None:
    assert FailToProxy(error_code=0).can_reuse_downstream is False
    with pytest.raises(ValueError, match="error_code"):
        FailToProxy(error_code=42)
    result = FailToProxy(error_code=502)
    with pytest.raises(AttributeError):
        result.error_code = 200  # type: ignore[misc]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Error(ErrorType.HTTPStatus(418)), 418),
        (Error(ErrorType.HTTPStatus(429), ErrorSource.UPSTREAM), 429),
        (Error(ErrorType.ConnectTimedout, ErrorSource.UPSTREAM), 504),
        (Error(ErrorType.ReadTimedout, ErrorSource.UPSTREAM), 504),
        (Error(ErrorType.ConnectRefused, ErrorSource.UPSTREAM), 502),
        (Error(ErrorType.ConnectionClosed, ErrorSource.UPSTREAM), 502),
        (Error(ErrorType.InvalidHTTPHeader, ErrorSource.UPSTREAM), 502),
        (Error(ErrorType.ConnectionClosed, ErrorSource.DOWNSTREAM), 0),
        (Error(ErrorType.WriteError, ErrorSource.DOWNSTREAM), 0),
        (Error(ErrorType.ReadError, ErrorSource.DOWNSTREAM), 0),
        (Error(ErrorType.InvalidHTTPHeader, ErrorSource.DOWNSTREAM), 400),
        (Error(ErrorType.ReadTimedout, ErrorSource.DOWNSTREAM), 400),
        (Error(ErrorType.InternalError, ErrorSource.INTERNAL), 500),
        (Error(ErrorType.Custom("mine")), 500),
        (Error(ErrorType.CustomCode("mine", 7), ErrorSource.UPSTREAM), 502),
    ],
)
def test_error_status_table(error: Error, status: int) -> None:
    assert error_status(error) == status


def test_session_repr_and_proxy_repr_show_state() -> None:
    proxy: Any = HttpProxy(App())
    assert "App" in repr(proxy)
    assert "allow_connect=False" in repr(proxy)
    assert "upstream_peer" in repr(proxy.hooks)
