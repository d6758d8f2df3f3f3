"""`pingora.ketama`: the public names of the pingora-ketama package (`pingora_ketama`)."""

from pingora_ketama import *  # noqa: F403
from pingora_ketama import __all__ as __all__
