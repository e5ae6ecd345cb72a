"""`datalayer gdpr erase` run as a separate process reaches a running process's cache."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.runtime import DataLayer
from datalayer.settings import Settings
from tests.integration.cachewire.conftest import new_user
from tests.integration.gdpr.test_cli import cli
from tests.services import RedisHarness


async def test_the_erase_command_invalidates_and_purges_the_running_caches(
    database_url: str, settings: Settings, redis_server: RedisHarness
) -> None:
    cache = TieredCache.from_settings(settings, redis_url=redis_server.url)  # default prefix
    async with DataLayer(Database.connect(database_url, settings), settings, cache=cache) as dl:
        user = await new_user(dl)
        assert await dl.users.get_user_by_id(user.id) == user
        assert await dl.users.get_user_by_id(user.id) == user  # now cached in L1 and L2

        os.environ["REDIS_URL"] = redis_server.url
        try:
            home = Path(tempfile.mkdtemp(prefix="datalayer-erase-cache-"))
            # In a thread: this process's invalidation subscriber keeps running meanwhile.
            erased = await asyncio.to_thread(
                cli, database_url, home, "gdpr", "erase", str(user.id), "--yes"
            )
        finally:
            del os.environ["REDIS_URL"]
        assert erased.returncode == 0, erased.stdout + erased.stderr

        client = aioredis.Redis.from_url(redis_server.url)
        try:
            left = [key async for key in client.scan_iter(match=f"dl:e:*{user.id}*")]
        finally:
            await client.aclose()
        assert left == []
        assert await dl.users.find_user_by_id(user.id) is None
