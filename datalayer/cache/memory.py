"""L1: a per-process LRU bounded by the serialized size of its entries.

A hit is one dictionary lookup, an expiry comparison, a check of the entry's scopes and a
``move_to_end``: entries carry their own expiry time (checked on read; an expired entry is
dropped then, or evicted by the LRU when space is needed). The LRU is an ``OrderedDict``
with the byte count kept alongside, not a cachetools cache, whose Python-level lookup and
reordering cost more than the rest of a hit together. Values are stored as they are given:
the tiered cache freezes them first (:mod:`datalayer.cache.frozen`).

Invalidation never walks the entries. Each invalidated scope is stamped with a tick of a
local clock in a bounded log; an entry remembers the tick at which its load *started* and
is served only if none of its scopes was stamped later. A fill whose load started before an
invalidation of one of its scopes is refused, so a racing fill always loses. When the log
is pruned, entries and fills older than the pruned ticks are treated as invalid (the
conservative side).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_MAX_TRACKED_SCOPES = 100_000


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    size: int
    started_tick: int
    scopes: tuple[str, ...]
    expires_at: float


class MemoryCache:
    """The in-process level; every method is synchronous and cheap (no I/O)."""

    def __init__(self, max_bytes: int, *, max_tracked_scopes: int = _MAX_TRACKED_SCOPES) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._bytes = 0
        self._max_bytes = max_bytes
        self._clock = 0
        # scope -> (tick of its last invalidation, highest source position invalidated)
        self._invalidated: OrderedDict[str, tuple[int, int | None]] = OrderedDict()
        self._max_tracked = max_tracked_scopes
        self._floor_tick = 0  # anything that started before this tick is invalid
        self._floor_position: int | None = None

    def tick(self) -> int:
        """The current tick; take it *before* reading the source of a fill."""
        return self._clock

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` when a valid entry exists, else ``(False, None)``."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry.expires_at <= time.monotonic():
            self.discard(key)
            return False, None
        started = entry.started_tick
        if started < self._floor_tick:
            return False, None
        invalidated = self._invalidated
        if invalidated:  # _still_valid inlined: this is most of an L1 hit
            for scope in entry.scopes:
                mark = invalidated.get(scope)
                if mark is not None and mark[0] > started:
                    return False, None
        self._entries.move_to_end(key)
        return True, entry.value

    def put(
        self,
        key: str,
        value: Any,
        *,
        size: int,
        scopes: tuple[str, ...],
        started_tick: int,
        ttl_s: float,
        position: int | None = None,
    ) -> bool:
        """Store unless an invalidation of ``scopes`` happened since ``started_tick``.

        ``position`` is where the value was read in the source (e.g. a replica's replay LSN);
        a value read at a position older than an invalidation of its scopes is refused.
        Returns whether the value was stored.
        """
        if not self._still_valid(scopes, started_tick):
            return False
        if position is not None and self._older_than_invalidation(scopes, position):
            return False
        if size > self._max_bytes:
            return False
        self.discard(key)
        self._entries[key] = _Entry(value, size, started_tick, scopes, time.monotonic() + ttl_s)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _key, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
        return True

    def unchanged_since(self, scopes: tuple[str, ...], tick: int) -> bool:
        """Whether no scope in ``scopes`` was invalidated after ``tick``."""
        return self._still_valid(scopes, tick)

    def invalidate(self, scopes: Iterable[str], position: int | None = None) -> None:
        """Mark ``scopes`` invalidated now (entries and running fills depending on them)."""
        self._clock += 1
        for scope in scopes:
            previous = self._invalidated.pop(scope, None)
            watermark = _max_position(previous[1] if previous else None, position)
            self._invalidated[scope] = (self._clock, watermark)
        while len(self._invalidated) > self._max_tracked:
            _scope, (tick, watermark) = self._invalidated.popitem(last=False)
            self._floor_tick = max(self._floor_tick, tick)
            self._floor_position = _max_position(self._floor_position, watermark)

    def discard(self, key: str) -> None:
        """Drop the entry of ``key`` now (its bytes, not just its validity)."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def discard_prefixed(self, prefixes: tuple[str, ...]) -> None:
        """Drop every entry whose key starts with one of ``prefixes``."""
        if prefixes:
            for key in [key for key in self._entries if key.startswith(prefixes)]:
                self.discard(key)

    def invalidate_all(self) -> None:
        """Drop everything, including fills still running."""
        self._clock += 1
        self._floor_tick = self._clock
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Sum of the entries' serialized sizes."""
        return self._bytes

    def _still_valid(self, scopes: tuple[str, ...], started_tick: int) -> bool:
        if started_tick < self._floor_tick:
            return False
        for scope in scopes:
            mark = self._invalidated.get(scope)
            if mark is not None and mark[0] > started_tick:
                return False
        return True

    def _older_than_invalidation(self, scopes: tuple[str, ...], position: int) -> bool:
        if self._floor_position is not None and position < self._floor_position:
            return True
        for scope in scopes:
            mark = self._invalidated.get(scope)
            if mark is not None and mark[1] is not None and position < mark[1]:
                return True
        return False


def _max_position(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
