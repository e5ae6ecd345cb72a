"""Hit, miss and error counters per level and data type, readable by the metrics code.

Counters are plain integers on the event loop's thread; :meth:`CacheStats.snapshot` copies
them, and listeners registered with :meth:`CacheStats.subscribe` are called on every event
(keep them cheap: they run on the read path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from datalayer.cache.keys import DataType


class CacheEvent(StrEnum):
    """What happened to one cache read or write."""

    L1_HIT = "l1_hit"
    L2_HIT = "l2_hit"
    MISS = "miss"
    ERROR = "error"
    BYPASS = "bypass"
    """The data type is switched off: the loader ran, nothing was cached."""
    STALE_FILL_REJECTED = "stale_fill_rejected"
    """A fill lost against an invalidation (or came from a lagging replica) and was dropped."""


@dataclass(slots=True)
class TypeCounters:
    """Counters of one data type."""

    l1_hits: int = 0
    l2_hits: int = 0
    misses: int = 0
    errors: int = 0
    bypasses: int = 0
    stale_fills_rejected: int = 0

    @property
    def reads(self) -> int:
        return self.l1_hits + self.l2_hits + self.misses


_FIELD = {
    CacheEvent.L1_HIT: "l1_hits",
    CacheEvent.L2_HIT: "l2_hits",
    CacheEvent.MISS: "misses",
    CacheEvent.ERROR: "errors",
    CacheEvent.BYPASS: "bypasses",
    CacheEvent.STALE_FILL_REJECTED: "stale_fills_rejected",
}

Listener = Callable[[CacheEvent, DataType | None], None]


class CacheStats:
    """Counters for every :class:`DataType`; errors not tied to a type count under ``None``."""

    def __init__(self) -> None:
        self._counters: dict[DataType | None, TypeCounters] = {
            data_type: TypeCounters() for data_type in DataType
        }
        self._counters[None] = TypeCounters()
        self._listeners: list[Listener] = []

    def record(self, event: CacheEvent, data_type: DataType | None) -> None:
        counters = self._counters[data_type]
        field = _FIELD[event]
        setattr(counters, field, getattr(counters, field) + 1)
        for listener in self._listeners:
            listener(event, data_type)

    def l1_hit(self, data_type: DataType) -> None:
        """``record(CacheEvent.L1_HIT, data_type)`` without the lookups (the hot path)."""
        self._counters[data_type].l1_hits += 1
        if self._listeners:
            for listener in self._listeners:
                listener(CacheEvent.L1_HIT, data_type)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, data_type)`` on every future event."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no-op when it is not subscribed)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def live(self, data_type: DataType | None) -> TypeCounters:
        """The counters of ``data_type`` themselves (they keep counting; do not change them):
        cheaper than :meth:`snapshot` for telling what one read did."""
        return self._counters[data_type]

    def snapshot(self) -> dict[DataType | None, TypeCounters]:
        """A copy of the counters, per data type (``None``: errors outside any read)."""
        return {data_type: replace(counters) for data_type, counters in self._counters.items()}

    def totals(self) -> TypeCounters:
        """The counters summed over every data type."""
        total = TypeCounters()
        for counters in self._counters.values():
            for field in _FIELD.values():
                setattr(total, field, getattr(total, field) + getattr(counters, field))
        return total
