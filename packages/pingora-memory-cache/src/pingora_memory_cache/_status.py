"""CacheStatus: how a cache lookup was answered (hit, miss, expired, lock hit, or stale)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

__all__ = ["CacheStatus"]

StatusName = Literal["hit", "miss", "expired", "lock_hit", "stale"]
_NAMES = frozenset({"hit", "miss", "expired", "lock_hit", "stale"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheStatus:
    """The answer type of a lookup.

    Use the constants `HIT`, `MISS`, `EXPIRED`, `LOCK_HIT`; a stale answer is
    `CacheStatus.stale(seconds)`, whose `stale_for` says how many seconds ago the value expired.
    """

    name: StatusName
    stale_for: float | None = None

    HIT: ClassVar[CacheStatus]
    MISS: ClassVar[CacheStatus]
    EXPIRED: ClassVar[CacheStatus]
    LOCK_HIT: ClassVar[CacheStatus]

    def __post_init__(self) -> None:
        if self.name not in _NAMES:
            raise ValueError(f"unknown cache status {self.name!r}; expected {sorted(_NAMES)}")
        if self.name == "stale":
            stale_for = self.stale_for
            if (
                isinstance(stale_for, bool)
                or not isinstance(stale_for, int | float)
                or not math.isfinite(stale_for)
                or stale_for < 0
            ):
                raise ValueError(f"stale_for must be finite seconds >= 0, got {stale_for!r}")
        elif self.stale_for is not None:
            raise ValueError(f"only a stale status carries stale_for, not {self.name!r}")

    def __repr__(self) -> str:
        if self.name == "stale":
            return f"CacheStatus.stale({self.stale_for!r})"
        return f"CacheStatus.{self.name.upper()}"

    @classmethod
    def stale(cls, seconds: float) -> CacheStatus:
        """A stale answer: the value expired `seconds` ago but was served anyway."""
        return cls(name="stale", stale_for=seconds)

    @property
    def is_hit(self) -> bool:
        """True when a value was served: hit, lock hit or stale."""
        return self.name in ("hit", "lock_hit", "stale")

    @property
    def is_stale(self) -> bool:
        """True for a stale answer."""
        return self.name == "stale"

    def as_str(self) -> str:
        """The short name: "hit", "miss", "expired", "lock_hit" or "stale"."""
        return self.name


CacheStatus.HIT = CacheStatus(name="hit")
CacheStatus.MISS = CacheStatus(name="miss")
CacheStatus.EXPIRED = CacheStatus(name="expired")
CacheStatus.LOCK_HIT = CacheStatus(name="lock_hit")
