"""Building a proxy for a server: `http_proxy_service` (a listening `Service` to add to a
`Server`) and `http_proxy` (the bare `HttpProxy` app, for your own accept loop)."""

from __future__ import annotations

from typing import Any, Final

from pingora_core.server import ServerConf
from pingora_core.services import Service
from pingora_proxy._proxy import HttpProxy
from pingora_proxy._trait import ProxyHttp

__all__ = ["DEFAULT_SERVICE_NAME", "http_proxy", "http_proxy_service"]

DEFAULT_SERVICE_NAME: Final = "Pingora HTTP Proxy Service"


def http_proxy(conf: ServerConf | None, app: ProxyHttp[Any]) -> HttpProxy:
    """The `HttpProxy` running `app` with `conf` (None: the defaults)."""
    if isinstance(conf, ProxyHttp):
        raise TypeError("http_proxy(conf, app): the ServerConf comes first")
    return HttpProxy(app, conf)


def http_proxy_service(
    conf: ServerConf | None, app: ProxyHttp[Any], name: str | None = None
) -> Service:
    """A listening `Service` proxying with `app`; add endpoints (`add_tcp`) and give it to a
    `Server`."""
    return Service(DEFAULT_SERVICE_NAME if name is None else name, http_proxy(conf, app))
