"""`pingora.timeout`: the public names of the pingora-timeout package (`pingora_timeout`)."""

from pingora_timeout import *  # noqa: F403
from pingora_timeout import __all__ as __all__
