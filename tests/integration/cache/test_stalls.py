"""A process whose event loop stalls (CPU starved, a long GC) while Redis is fine: it keeps
its caches (no L1 flush, no fence that would invalidate every L2 entry of every process),
yet never answers from L1 an entry that an invalidation it has not read yet made stale."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from datalayer.cache import CacheConfig, DataType, TieredCache, keys
from tests.integration.cache.conftest import Source
from tests.services import RedisHarness

MakeCache = Callable[..., Awaitable[TieredCache]]
HEARTBEAT: dict[str, Any] = {"heartbeat_s": 0.05, "redis_timeout_s": 0.1}


def stall(seconds: float) -> None:
    """Block the event loop, as a starved or paused process would."""
    time.sleep(seconds)


async def test_a_stall_keeps_l1_and_l2(make_cache: MakeCache) -> None:
    source = Source()
    source.write("r", "v1")
    key = keys.recipe_details("r")
    stalled = await make_cache(**HEARTBEAT)
    await stalled.get_or_load(key, source.loader("r"))
    stall(0.6)  # far past 3 heartbeats + the Redis timeout
    await asyncio.sleep(0.3)  # the subscriber reads its pong
    assert stalled.subscription_losses == 0
    assert stalled.l1_usable
    assert await stalled.get_or_load(key, source.loader("r")) == "v1"
    assert stalled.stats.snapshot()[DataType.RECIPE_DETAILS].l1_hits == 1
    other = await make_cache(**HEARTBEAT)
    assert await other.get_or_load(key, source.loader("r")) == "v1"
    assert other.stats.snapshot()[DataType.RECIPE_DETAILS].l2_hits == 1  # L2 was not fenced
    assert source.count("r") == 1


async def test_a_stalled_process_never_answers_l1_with_an_entry_invalidated_meanwhile(
    make_cache: MakeCache, redis_server: RedisHarness, prefix: str
) -> None:
    source = Source()
    source.write("r", "v1")
    key = keys.recipe_details("r")
    reader = await make_cache(**HEARTBEAT)
    await reader.get_or_load(key, source.loader("r"))
    assert reader.l1_usable

    def write_elsewhere() -> None:
        """Another process commits v2 and invalidates; the reader cannot acknowledge, so
        the writer returns after its bounded wait."""

        async def run() -> None:
            config = CacheConfig(redis_url=redis_server.url, key_prefix=prefix, **HEARTBEAT)
            writer = TieredCache(config)
            await writer.start()
            source.write("r", "v2")
            await writer.invalidate(key.scopes)
            await writer.aclose()

        asyncio.run(run())

    writer = threading.Thread(target=write_elsewhere)
    writer.start()
    writer.join()  # the reader's loop is blocked all along: its subscriber read nothing
    assert await reader.get_or_load(key, source.loader("r")) == "v2"


async def test_an_acknowledgement_that_fails_keeps_l1_and_l2(
    make_cache: MakeCache, raw_redis: Any, prefix: str
) -> None:
    """The invalidation is applied before it is acknowledged: an acknowledgement that
    cannot be sent (here Redis refuses it; in production a stall times it out) must not
    count as a lost subscription, whose L1 flush and L2 fence would cost every process its
    cache."""
    source = Source()
    for name in ("r", "other"):
        source.write(name, "v1")
    key, other_key = keys.recipe_details("r"), keys.recipe_details("other")
    reader = await make_cache(**HEARTBEAT)
    for each in (key, other_key):
        await reader.get_or_load(each, source.loader(each.identity))
    await raw_redis.set(f"{prefix}ack:planted", "not a list")  # RPUSH on it fails
    planted = {"origin": "elsewhere", "scopes": list(key.scopes), "ack": f"{prefix}ack:planted"}
    await raw_redis.publish(f"{prefix}inv", json.dumps(planted))
    writer = await make_cache(**HEARTBEAT)
    await writer.invalidate(["unrelated"])  # acknowledged after the planted message
    assert reader.subscription_losses == 0
    assert reader._subscriber is not None and reader._subscriber.failed_acknowledgements == 1
    assert await reader.get_or_load(key, source.loader("r")) == "v1"
    assert await reader.get_or_load(other_key, source.loader("other")) == "v1"
    counters = reader.stats.snapshot()[DataType.RECIPE_DETAILS]
    assert (counters.l2_hits, counters.l1_hits) == (1, 1)  # dropped from L1; the rest kept
    third = await make_cache(**HEARTBEAT)
    assert await third.get_or_load(other_key, source.loader("other")) == "v1"
    assert third.stats.snapshot()[DataType.RECIPE_DETAILS].l2_hits == 1  # L2 not fenced
    assert source.count("other") == 1
