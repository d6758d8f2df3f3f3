"""`pingora.lb`: the public names of the pingora-load-balancing package."""

from pingora_load_balancing import *  # noqa: F403
from pingora_load_balancing import __all__ as __all__
