"""The two-level cache: L1 in process over L2 Redis, cache-aside, never serving stale data.

Read path (:meth:`TieredCache.get_or_load`): L1, then L2, then the loader. Before anything
is read the cache takes a *ticket* (the L1 tick and the L2 tag of the key's scopes); a fill
is stored only if no invalidation of those scopes happened since, so a load that raced an
invalidation is returned to its caller but never cached. Redis failures never fail a read:
the loader answers, a circuit breaker skips Redis for a cooldown, and L1 is used only while
the invalidation subscriber proves the process would hear about other processes' writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from datalayer.cache.breaker import CircuitBreaker
from datalayer.cache.codec import PayloadError, decode, encode
from datalayer.cache.coherence import InvalidationSubscriber
from datalayer.cache.config import CacheConfig
from datalayer.cache.delivery import InvalidationDelivery
from datalayer.cache.frozen import freeze
from datalayer.cache.guard import RedisGuard, RedisUnavailable
from datalayer.cache.keys import GLOBAL_SCOPE, CacheKey
from datalayer.cache.memory import MemoryCache
from datalayer.cache.redis import RedisStore, connect
from datalayer.cache.stats import CacheEvent, CacheStats
from datalayer.cache.values import BadPayload, Flights, Loaded
from datalayer.settings import Settings

T = TypeVar("T")
_LOCK_POLL_S = 0.01
_MISSING: Any = object()


class TieredCache:
    """L1 + optional L2. Build with :meth:`from_settings`; ``await start()`` before use."""

    def __init__(
        self, config: CacheConfig, *, redis: Redis | None = None, stats: CacheStats | None = None
    ) -> None:
        self.config = config
        self.stats = stats or CacheStats()
        self.l1 = MemoryCache(config.l1_max_bytes)
        self._disabled = config.disabled_types
        self.origin = secrets.token_hex(8)
        self.breaker = CircuitBreaker(config.breaker_cooldown_s)
        self._guard = RedisGuard(self.breaker, self.stats, config.redis_timeout_s)
        self._flights = Flights()
        self._needs_fence = False
        self._store: RedisStore | None = None
        self._subscriber: InvalidationSubscriber | None = None
        if redis is None and config.redis_url:
            redis = connect(config.redis_url, timeout_s=config.redis_timeout_s)
        if redis is not None:
            self._store = RedisStore(redis, prefix=config.key_prefix)
            self._subscriber = InvalidationSubscriber(
                self._store,
                origin=self.origin,
                heartbeat_s=config.heartbeat_s,
                timeout_s=config.redis_timeout_s,
                on_scopes=self.l1.invalidate,
                on_lost=self._subscription_lost,
                on_restored=self.l1.invalidate_all,
            )
        self.delivery = InvalidationDelivery(
            self._store, origin=self.origin, stats=self.stats, config=config
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> TieredCache:
        """A cache configured from ``settings`` (L1 only when ``REDIS_URL`` is unset)."""
        return cls(CacheConfig.from_settings(settings, **overrides))

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, *, wait_s: float = 1.0) -> None:
        """Start the invalidation subscriber; wait up to ``wait_s`` for it to subscribe.

        If Redis is down the cache still works (loader only) and L1 turns on once the
        subscription succeeds.
        """
        if self._subscriber is None:
            return
        self._subscriber.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await self._subscriber.connected.wait()

    async def aclose(self) -> None:
        """Stop background tasks and close the Redis client."""
        await self.delivery.aclose()
        if self._subscriber is not None:
            await self._subscriber.stop()
        if self._store is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._store.client.aclose()

    async def __aenter__(self) -> TieredCache:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def has_l2(self) -> bool:
        """Whether a Redis level is configured (it may be down right now)."""
        return self._store is not None

    @property
    def subscription_losses(self) -> int:
        """How often this process lost its invalidation subscription (each empties L1 and
        invalidates every L2 entry)."""
        return self._subscriber.losses if self._subscriber is not None else 0

    @property
    def l1_usable(self) -> bool:
        """L1 alone only answers while this process would hear every invalidation."""
        if self._store is None:
            return True
        return (
            self._subscriber is not None
            and self._subscriber.fresh
            and not self.delivery.has_undelivered
        )

    # -- reads -------------------------------------------------------------------------

    async def get_or_load(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[T]],
        *,
        adapter: TypeAdapter[T] | None = None,
    ) -> T:
        """The cached value of ``key``, or ``await load()`` (then cached).

        Use for loads that read the primary (or a replica already known to be current).
        The value is shared with other callers, so it is returned deeply read-only
        (:func:`~datalayer.cache.frozen.freeze`), cached or just loaded.
        """
        value = self._from_l1(key)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]

        async def at_primary() -> Loaded[T]:
            return Loaded(await load())

        return await self._load_missing(key, at_primary, adapter)

    async def get_or_load_at(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[Loaded[T]]],
        *,
        adapter: TypeAdapter[T] | None = None,
    ) -> T:
        """Like :meth:`get_or_load` for loads that may read a lagging replica.

        ``load`` returns the value with the source position it was read at; the value is
        not cached when an invalidation with a newer position touched the key's scopes.
        """
        value = self._from_l1(key)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        return await self._load_missing(key, load, adapter)

    def _from_l1(self, key: CacheKey) -> Any:
        """The L1 value of ``key`` (counted as a hit), or ``_MISSING``: the hot path."""
        if self._disabled and key.data_type in self._disabled:
            return _MISSING
        subscriber = self._subscriber  # l1_usable, inlined
        if subscriber is not None and (not subscriber.fresh or self.delivery.has_undelivered):
            return _MISSING
        found, value = self.l1.get(key.name)
        if not found:
            return _MISSING
        self.stats.l1_hit(key.data_type)
        return value

    async def _load_missing(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[Loaded[T]]],
        adapter: TypeAdapter[T] | None,
    ) -> T:
        """Not in L1: join a running load of ``key``, or read L2, or load and fill."""
        data_type = key.data_type
        if data_type in self.config.disabled_types:
            self.stats.record(CacheEvent.BYPASS, data_type)
            return freeze((await load()).value)  # type: ignore[no-any-return]
        flight = self._flights.get(key.name)
        if flight is not None and self.l1.unchanged_since(key.all_scopes, flight.started_tick):
            joined, value = await flight.join()
            if joined:
                return value  # type: ignore[no-any-return]
        started_tick = self.l1.tick()
        return await self._flights.lead(
            key.name, started_tick, self._read_through(key, load, adapter, started_tick)
        )

    async def _read_through(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[Loaded[T]]],
        adapter: TypeAdapter[T] | None,
        started_tick: int,
    ) -> T:
        tag: str | None = None
        lock_token: str | None = None
        if await self._l2_ready():
            try:
                tag, hit, lock_token = await self._l2_read(key, adapter, started_tick, lock=True)
                if hit is not None:
                    return hit[0]  # type: ignore[no-any-return]
                if lock_token is None:
                    tag, hit, lock_token = await self._wait_for_filler(key, adapter, started_tick)
                    if hit is not None:
                        return hit[0]  # type: ignore[no-any-return]
            except BadPayload as bad:
                tag = bad.tag  # load and overwrite it, without waiting for a filler
            except RedisUnavailable:
                tag = None
        try:
            loaded = await load()
            self.stats.record(CacheEvent.MISS, key.data_type)
            value = freeze(loaded.value)
            if await self._fill(
                key, Loaded(value, loaded.position), adapter, started_tick, tag, lock_token
            ):
                lock_token = None  # the fill script released it
            return value  # type: ignore[no-any-return]
        finally:
            if lock_token is not None:
                token = lock_token
                with contextlib.suppress(RedisUnavailable):
                    await self._guard(
                        key.data_type, lambda: self._store_or_fail().unlock(key.name, token)
                    )

    async def _l2_read(
        self,
        key: CacheKey,
        adapter: TypeAdapter[Any] | None,
        started_tick: int,
        *,
        lock: bool = False,
    ) -> tuple[str, tuple[Any] | None, str | None]:
        """``(tag, (value,) or None, lock_token)``; a hit is also put in L1."""
        lock_ms = int(self.config.fill_lock_s * 1000) if lock else None
        tag, payload, token = await self._guard(
            key.data_type,
            lambda: self._store_or_fail().read(key.name, key.all_scopes, lock_ms=lock_ms),
        )
        if payload is None:
            return tag, None, token
        try:
            value = decode(payload, adapter)
        except PayloadError:
            self.stats.record(CacheEvent.ERROR, key.data_type)
            raise BadPayload(tag) from None
        self.stats.record(CacheEvent.L2_HIT, key.data_type)
        if self.l1_usable:
            self._put_l1(key, Loaded(value), len(payload), started_tick)
        return tag, (value,), None

    async def _wait_for_filler(
        self, key: CacheKey, adapter: TypeAdapter[Any] | None, started_tick: int
    ) -> tuple[str | None, tuple[Any] | None, str | None]:
        """Another process is filling ``key``: poll L2 until it is filled, or take over the
        lock if the filler released it without storing (its fill lost a race) or it expired.

        Returns ``(tag, hit, lock_token)``.
        """
        deadline = time.monotonic() + 2 * self.config.fill_lock_s  # the lock expires first
        while time.monotonic() < deadline and await self._l2_ready():
            await asyncio.sleep(_LOCK_POLL_S)
            tag, hit, token = await self._l2_read(key, adapter, started_tick, lock=True)
            if hit is not None or token is not None:
                return tag, hit, token
        return None, None, None

    async def _fill(
        self,
        key: CacheKey,
        loaded: Loaded[Any],
        adapter: TypeAdapter[Any] | None,
        started_tick: int,
        tag: str | None,
        lock_token: str | None = None,
    ) -> bool:
        """Store a loaded value unless it lost a race; releases ``lock_token`` in Redis."""
        payload = encode(loaded.value, adapter)
        if self._store is None:
            stored = self._put_l1(key, loaded, len(payload), started_tick)
        elif tag is None or not await self._l2_ready():
            return False
        else:
            try:
                stored = await self._guard(
                    key.data_type,
                    lambda: self._store_or_fail().fill(
                        key.name,
                        key.all_scopes,
                        tag=tag,
                        payload=payload,
                        ttl_ms=int(self.config.jittered(self.config.ttl_s[key.data_type]) * 1000),
                        position=loaded.position,
                        lock_token=lock_token,
                    ),
                )
            except RedisUnavailable:
                return False
            if stored and self.l1_usable:
                self._put_l1(key, Loaded(loaded.value), len(payload), started_tick)
        if not stored:
            self.stats.record(CacheEvent.STALE_FILL_REJECTED, key.data_type)
        return stored

    def _put_l1(self, key: CacheKey, loaded: Loaded[Any], size: int, started_tick: int) -> bool:
        return self.l1.put(
            key.name,
            loaded.value,
            size=size,
            scopes=key.all_scopes,
            started_tick=started_tick,
            ttl_s=self.config.l1_ttl(key.data_type),
            position=loaded.position,
        )

    async def refresh(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[T]],
        *,
        adapter: TypeAdapter[T] | None = None,
    ) -> bool:
        """Load ``key`` now and store it, replacing what is cached (used for warming).

        Returns whether it was stored (not when switched off, or when an invalidation
        raced the load).
        """
        if key.data_type in self.config.disabled_types:
            return False
        started_tick = self.l1.tick()
        tag: str | None = None
        if await self._l2_ready():
            with contextlib.suppress(RedisUnavailable):
                tag, _, _ = await self._guard(
                    key.data_type,
                    lambda: self._store_or_fail().read(key.name, key.all_scopes),
                )
        value = freeze(await load())
        return await self._fill(key, Loaded(value), adapter, started_tick, tag)

    # -- invalidation ------------------------------------------------------------------

    async def invalidate(self, scopes: Iterable[str], *, position: int | None = None) -> None:
        """Invalidate every entry depending on any of ``scopes``, in every process.

        Call only after the write committed (see :class:`PendingInvalidations`). ``position``
        is the commit's WAL position: replica reads older than it are never cached. If Redis
        cannot be told, the scopes are retried in the background, this process stops using
        both levels until they are delivered, and the call waits long enough for every
        other process's subscriber to notice the outage and drop its L1.
        """
        ordered = sorted(set(scopes))
        if not ordered:
            return
        store = self._store
        if store is None:
            self.l1.invalidate(ordered, position)
            return
        published: tuple[str, int] | None = None
        if not self.delivery.has_undelivered:
            with contextlib.suppress(RedisUnavailable):
                published = await self._guard(
                    None, lambda: store.invalidate(ordered, position, self.origin)
                )
        self.l1.invalidate(ordered, position)
        if published is None:
            await self.delivery.queue_and_wait(ordered, position)
        else:
            await self.delivery.await_acknowledgements(*published)

    async def purge(
        self, cache_keys: Iterable[CacheKey], name_prefixes: Iterable[str] = ()
    ) -> None:
        """Delete entries' bytes from this process's L1 and from Redis (GDPR erasure).

        :meth:`invalidate` is what makes entries unreachable everywhere; this removes their
        payloads instead of leaving them to expire: the entries of ``cache_keys``, and every
        entry whose name starts with one of ``name_prefixes`` (query variants, e.g.
        ``user_recipes:{user_id}:``; found in Redis with an incremental SCAN, so keep it to
        rare operations). Redis errors leave the rest to the TTL (counted as cache errors).
        """
        names = sorted({key.name for key in cache_keys})
        prefixes = tuple(name_prefixes)
        for name in names:
            self.l1.discard(name)
        self.l1.discard_prefixed(prefixes)
        store = self._store
        if store is not None:
            with contextlib.suppress(RedisUnavailable):
                await self._guard(None, lambda: store.delete(names, prefixes))

    # -- helpers -----------------------------------------------------------------------

    def _store_or_fail(self) -> RedisStore:
        if self._store is None:
            raise RedisUnavailable
        return self._store

    def _subscription_lost(self) -> None:
        """Redis went away: invalidations from other processes may be missed or undelivered."""
        self.l1.invalidate_all()
        self._needs_fence = True

    async def _l2_ready(self) -> bool:
        """Whether L2 may be used now; after an outage, fence it first.

        A process that lost its subscription does not know which writes happened during the
        outage (a writer elsewhere may still hold undelivered invalidations), so before it
        reads Redis again it invalidates the global scope: every entry filled before the
        outage is then ignored, and refilled from the database.
        """
        store = self._store
        if store is None or self.delivery.has_undelivered or not self.breaker.allow():
            return False
        if self._needs_fence:
            try:
                await self._guard(None, lambda: store.invalidate([GLOBAL_SCOPE], None, self.origin))
            except RedisUnavailable:
                return False
            self._needs_fence = False
        return True
