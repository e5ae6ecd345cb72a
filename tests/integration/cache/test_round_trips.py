"""An L2 hit costs one Redis round trip: counted on the real server with MONITOR, which
shows each command a client sends (commands a script runs inside Redis are marked ``lua``
and cost no round trip)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from datalayer.cache import DataType, TieredCache, keys
from tests.services import RedisHarness

MakeCache = Callable[..., Awaitable[TieredCache]]


async def _commands_sent_during(redis_url: str, action: Callable[[], Awaitable[None]]) -> list[str]:
    """The commands clients sent while ``action`` ran (not the subscribers' heartbeats)."""
    client = aioredis.Redis.from_url(redis_url)
    marker = aioredis.Redis.from_url(redis_url, single_connection_client=True)
    end = f"end-{uuid.uuid4().hex}"
    seen: list[str] = []
    try:
        await marker.echo("connected")  # its handshake happens before the count
        async with client.monitor() as monitor:
            await action()
            await marker.echo(end)
            async for info in monitor.listen():
                command = str(info["command"])
                if command == f"ECHO {end}":
                    break
                if info["client_type"] != "lua" and not command.upper().startswith("PING"):
                    seen.append(command)
    finally:
        await marker.aclose()
        await client.aclose()
    return seen


async def test_an_l2_hit_is_one_round_trip(
    make_cache: MakeCache, redis_server: RedisHarness
) -> None:
    filler, reader = await make_cache(), await make_cache()
    wanted = [keys.recipe_details("r1"), keys.user_profile("u1"), keys.user_recipes("u1")]

    async def load() -> dict[str, str]:
        return {"title": "soup"}

    for key in wanted:
        await filler.get_or_load(key, load)
    await reader.get_or_load(keys.recipe_details("other"), load)  # connected, handshake done

    async def read_from_l2() -> None:
        for key in wanted:
            await reader.get_or_load(key, load)

    sent = await _commands_sent_during(redis_server.url, read_from_l2)
    totals = reader.stats.totals()
    assert (totals.l2_hits, totals.misses) == (3, 1)
    assert len(sent) == 3, sent
    assert reader.stats.snapshot()[DataType.USER_RECIPES].l2_hits == 1  # three scopes, too
