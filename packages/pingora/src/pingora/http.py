"""`pingora.http`: the public names of the pingora-http package (`pingora_http`)."""

from pingora_http import *  # noqa: F403
from pingora_http import __all__ as __all__
