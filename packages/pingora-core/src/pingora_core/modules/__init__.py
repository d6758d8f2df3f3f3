"""HTTP modules: per-request filters a service runs at each phase of a request, in order.

`HttpModule` is what a module implements (async hooks, each a no-op by default);
`HttpModuleBuilder` creates one per request; `HttpModules` is a service's ordered set of
builders and `HttpModuleCtx` one request's modules. `ResponseCompression` (gzip, br, zstd) is
the module shipped here; its parts live in `pingora_core.modules.compression`. Sans-IO: the
proxy calls the hooks, nothing here touches a socket.
"""

from pingora_core.modules._http_module import (
    HOOK_NAMES,
    HttpModule,
    HttpModuleBuilder,
    overridden_hooks,
)
from pingora_core.modules._registry import HttpModuleCtx, HttpModules
from pingora_core.modules.compression import (
    Algorithm,
    ResponseCompression,
    ResponseCompressionBuilder,
)

__all__ = [
    "HOOK_NAMES",
    "Algorithm",
    "HttpModule",
    "HttpModuleBuilder",
    "HttpModuleCtx",
    "HttpModules",
    "ResponseCompression",
    "ResponseCompressionBuilder",
    "overridden_hooks",
]
