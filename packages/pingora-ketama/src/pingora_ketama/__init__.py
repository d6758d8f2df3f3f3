"""pingora-ketama: consistent hash rings for picking an upstream server by key.

`Continuum` is bit-exact with nginx's `hash $key consistent` (and Pingora's ketama crate);
`LibketamaContinuum` lays out its points like libketama memcached clients. Both map a key
(bytes) to a `Bucket` address with `node`, and give the failover order with `node_iter`.
"""

from __future__ import annotations

from pingora_ketama._bucket import Bucket
from pingora_ketama._continuum import POINTS_PER_WEIGHT, Continuum
from pingora_ketama._libketama import LibketamaContinuum

__all__ = ["POINTS_PER_WEIGHT", "Bucket", "Continuum", "LibketamaContinuum"]
