"""L1 coherence across processes: a pub/sub subscriber with a heartbeat.

Every invalidation is published on the cache channel; each process's subscriber applies the
scopes to its own L1 and then acknowledges, and the invalidating process waits for every
acknowledgement (bounded) before the write is acknowledged to its caller: once a write is
acknowledged, no live process still serves the old value from its L1.

A missed message would leave a stale L1 entry, so the subscriber pings over its own
connection every heartbeat, with the time it sent the ping as the ping's text. Redis
answers in order, so a pong proves that every invalidation published before that ping was
sent has already been applied here: L1 is *fresh* (usable) for three heartbeats after the
send time of the last pong received. A process that stalls (CPU starved, paused by the
scheduler, a long GC) stops using L1 by itself, and uses it again as soon as the pong
waiting in its socket is read, with no flush.

The subscription is *lost* (the cache then empties L1 and fences L2) only when Redis really
is gone: a connection error, or a ping still unanswered after three heartbeats plus the
Redis timeout *and* nothing left to read on the socket (Redis killed, paused, unreachable).
Elapsed time alone is never evidence: after a stall the reply is usually already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from datalayer.cache.redis import RedisStore

log = logging.getLogger(__name__)


class InvalidationSubscriber:
    """Runs in a background task; :attr:`healthy` tells whether L1 may be trusted."""

    def __init__(
        self,
        store: RedisStore,
        *,
        origin: str,
        heartbeat_s: float,
        timeout_s: float,
        on_scopes: Callable[[list[str]], None],
        on_lost: Callable[[], None],
        on_restored: Callable[[], None],
    ) -> None:
        self._store = store
        self._origin = origin
        self._heartbeat_s = heartbeat_s
        self._timeout_s = timeout_s
        self._on_scopes = on_scopes
        self._on_lost = on_lost
        self._on_restored = on_restored
        self._task: asyncio.Task[None] | None = None
        self.healthy = False
        """Subscribed, and Redis answered lately (False from a loss until resubscribed)."""
        self.losses = 0
        """How many times the subscription was lost (each emptied L1 and fenced L2)."""
        self.failed_acknowledgements = 0
        """Invalidations applied here whose acknowledgement could not be sent in time."""
        self.connected = asyncio.Event()
        self._fresh_until = 0.0
        self._stopping = False

    @property
    def fresh(self) -> bool:
        """Whether L1 may answer now: healthy, and a pong arrived for a recent ping."""
        return self.healthy and time.monotonic() < self._fresh_until

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="cache-invalidation-subscriber")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            while not self._task.done():  # redis-py may swallow a cancellation: repeat it
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=self._heartbeat_s)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                self._task.result()
            self._task = None

    async def _run(self) -> None:
        # redis-py may turn a cancellation that races its read timeout into a timeout (or
        # swallow it): the flag ends the loops all the same.
        while not self._stopping:
            try:
                await self._listen()
            except (RedisError, OSError, TimeoutError, ValueError) as exc:
                log.info("cache invalidation subscriber lost: %s", type(exc).__name__)
            self._mark_lost()
            if not self._stopping:
                await asyncio.sleep(self._heartbeat_s)

    def _mark_lost(self) -> None:
        if self.healthy:
            self.healthy = False
            self.losses += 1
            self.connected.clear()
            self._on_lost()

    async def _listen(self) -> None:
        pubsub = self._store.client.pubsub()
        window = 3 * self._heartbeat_s
        try:
            subscribed_at = time.monotonic()
            async with asyncio.timeout(self._timeout_s * 3):
                await pubsub.subscribe(self._store.channel)
                while (await pubsub.get_message(timeout=self._timeout_s)) is None:
                    pass  # wait for the subscribe confirmation
            self._on_restored()
            self._fresh_until = subscribed_at + window
            self.healthy = True
            self.connected.set()
            unanswered: float | None = None  # send time of the oldest ping not yet answered
            last_ping = 0.0
            while not self._stopping:
                now = time.monotonic()
                if now - last_ping >= self._heartbeat_s:
                    await pubsub.ping(message=repr(now))
                    last_ping = now
                    unanswered = now if unanswered is None else unanswered
                message = await pubsub.get_message(timeout=self._heartbeat_s)
                if message is None:
                    if unanswered is not None and (
                        time.monotonic() - unanswered > window + self._timeout_s
                    ):
                        raise TimeoutError("no reply from Redis on the invalidation channel")
                elif message.get("type") == "pong":
                    sent = float(message["data"])
                    self._fresh_until = max(self._fresh_until, sent + window)
                    unanswered = None if sent >= last_ping else last_ping
                elif message.get("type") == "message":
                    await self._apply(message["data"])
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout_s):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _apply(self, data: bytes) -> None:
        body = json.loads(data)
        if body.get("origin") != self._origin:
            self._on_scopes([str(scope) for scope in body.get("scopes", [])])
        if isinstance(body.get("ack"), str):
            # The scopes are already dropped here, so a late or failed acknowledgement only
            # makes the writer wait out its bound; it is no reason to empty L1 and fence L2
            # (a stall of the event loop during this call times it out).
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._store.acknowledge(body["ack"], self._origin)
            except (RedisError, OSError, TimeoutError) as exc:
                self.failed_acknowledgements += 1
                log.info("cache invalidation not acknowledged: %s", type(exc).__name__)
