"""Count-min estimators, windowed rates and in-flight counters for rate limiting.

``Estimator`` is the sketch; ``Rate`` measures events per second per key over fixed windows;
``Inflight`` counts work in progress per key and hands back guards that undo their count.
"""

from ._estimator import Estimator
from ._inflight import Inflight, InflightGuard
from ._rate import Rate, RateComponents, proportional_rate_estimate

__all__ = [
    "Estimator",
    "Inflight",
    "InflightGuard",
    "Rate",
    "RateComponents",
    "proportional_rate_estimate",
]
