"""`pingora.core`: the public names of the pingora-core package (`pingora_core`)."""

from pingora_core import *  # noqa: F403
from pingora_core import __all__ as __all__
