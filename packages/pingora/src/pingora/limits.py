"""`pingora.limits`: the public names of the pingora-limits package (`pingora_limits`)."""

from pingora_limits import *  # noqa: F403
from pingora_limits import __all__ as __all__
