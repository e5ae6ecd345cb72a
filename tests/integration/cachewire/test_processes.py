"""Two DataLayers in two real processes sharing one Redis: once a write is acknowledged,
the other process never reads the old value, though it had it cached."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from datalayer.runtime import DataLayer
from tests.integration.cache.processes import ROOT, Worker
from tests.integration.cachewire.conftest import new_user, recipe_payload
from tests.services import RedisHarness

ROUNDS = 20


class LayerWorker(Worker):
    def __init__(self, database_url: str, redis_url: str, prefix: str) -> None:
        module = "tests.integration.cachewire.worker"
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, database_url, redis_url, prefix],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.read() == {"ready": True}


@pytest.fixture
def other_process(database_url: str, redis_server: RedisHarness, prefix: str) -> Iterator[Any]:
    worker = LayerWorker(database_url, redis_server.url, prefix)
    yield worker
    worker.close()


async def test_a_write_is_never_read_stale_in_another_process(
    make_layer: Callable[..., Awaitable[DataLayer]], other_process: LayerWorker
) -> None:
    dl = await make_layer()
    user = await new_user(dl)
    recipe = await dl.recipes.create_recipe(user.id, recipe_payload("v0"))
    stale, hits_before_write = [], []
    for round_ in range(1, ROUNDS + 1):
        # The other process reads twice: the second read is served by its cache.
        other_process.ask(f"user {user.id}")
        other_process.ask(f"recipe {user.id} {recipe.id}")
        cached_user = other_process.ask(f"user {user.id}")
        cached_recipe = other_process.ask(f"recipe {user.id} {recipe.id}")
        hits_before_write.append((cached_user["hits"], cached_recipe["hits"]))

        await dl.users.update_user(user.id, {"username": f"{user.username}_{round_}"})
        await dl.recipes.update_recipe(user.id, recipe.id, {"title": f"v{round_}"})

        seen_user = other_process.ask(f"user {user.id}")["username"]
        seen_recipe = other_process.ask(f"recipe {user.id} {recipe.id}")["title"]
        if (seen_user, seen_recipe) != (f"{user.username}_{round_}", f"v{round_}"):
            stale.append((round_, seen_user, seen_recipe))
    assert stale == []
    # The other process really served from its cache between writes.
    assert hits_before_write[-1][0] >= ROUNDS and hits_before_write[-1][1] >= ROUNDS
