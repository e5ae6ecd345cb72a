"""L1 coherence across processes: a pub/sub subscriber with a heartbeat.

Every invalidation is published on the cache channel; each process's subscriber applies the
scopes to its own L1 and then acknowledges, and the invalidating process waits for every
acknowledgement (bounded) before the write is acknowledged to its caller: once a write is
acknowledged, no live process still serves the old value from its L1.

A missed message would leave a stale L1 entry, so the subscriber pings over its own
connection and, when no reply arrives within three heartbeats (Redis killed, paused,
unreachable), it reports itself lost: the cache then empties L1 and stops using it until
the subscription is back.
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
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cache-invalidation-subscriber")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError, TimeoutError, ValueError) as exc:
                log.info("cache invalidation subscriber lost: %s", type(exc).__name__)
            self._mark_lost()
            await asyncio.sleep(self._heartbeat_s)

    def _mark_lost(self) -> None:
        if self.healthy:
            self.healthy = False
            self.connected.clear()
            self._on_lost()

    async def _listen(self) -> None:
        pubsub = self._store.client.pubsub()
        try:
            async with asyncio.timeout(self._timeout_s * 3):
                await pubsub.subscribe(self._store.channel)
                while (await pubsub.get_message(timeout=self._timeout_s)) is None:
                    pass  # wait for the subscribe confirmation
            self._on_restored()
            self.healthy = True
            self.connected.set()
            last_reply = last_ping = time.monotonic()
            while True:
                now = time.monotonic()
                if now - last_reply > 3 * self._heartbeat_s:
                    raise TimeoutError("no reply from Redis on the invalidation channel")
                if now - last_ping >= self._heartbeat_s:
                    async with asyncio.timeout(self._timeout_s):
                        await pubsub.ping()
                    last_ping = now
                message = await pubsub.get_message(timeout=self._heartbeat_s)
                if message is None:
                    continue
                last_reply = time.monotonic()
                if message.get("type") == "message":
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
            async with asyncio.timeout(self._timeout_s):
                await self._store.acknowledge(body["ack"], self._origin)
