"""`pingora.proxy`: the public names of the pingora-proxy package."""

from pingora_proxy import *  # noqa: F403
from pingora_proxy import __all__ as __all__
