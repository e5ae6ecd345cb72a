"""Searches without an ef_search use the stored tuning; HNSW_EF_SEARCH set explicitly wins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.repositories import embeddings as embeddings_module
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.search_tuning import HNSW_INDEX, TTL_S, TunedEfSearch
from datalayer.repositories.similarity import SearchPlan
from datalayer.settings import Settings, load_settings
from tests.integration.repositories.support import (
    count_statements,
    new_user,
    random_embeddings,
)

QUERY = np.random.default_rng(5).random(1536) - 0.5


@pytest.fixture
async def stocked(db: Database) -> AsyncIterator[Database]:
    await random_embeddings(db, {await new_user(db): 50})
    yield db


async def store_tuning(db: Database, ef_search: int, index: str = HNSW_INDEX) -> None:
    async with db.write_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO vector_search_tuning (index_name, k, target_recall, ef_search, "
                "recall_mean, recall_lower_bound, target_met, sample_size, row_count) "
                "VALUES (:index, 20, 0.95, :ef, 0.97, 0.96, true, 50, 50)"
            ),
            {"index": index, "ef": ef_search},
        )


@contextmanager
def sent_plans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SearchPlan]]:
    """The plans the repository sends (each one still sent, through the real function)."""
    seen: list[SearchPlan] = []
    send = embeddings_module.send_pipelined

    async def recording(
        connection: Any, plan: SearchPlan, params: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        seen.append(plan)
        return await send(connection, plan, params)

    with monkeypatch.context() as patch:
        patch.setattr(embeddings_module, "send_pipelined", recording)
        yield seen


async def ef_used(
    db: Database, settings: Settings, repository: EmbeddingRepository | None = None
) -> str:
    embeddings = repository or EmbeddingRepository(db, settings)
    with pytest.MonkeyPatch.context() as patch, sent_plans(patch) as seen:
        await embeddings.similarity_search(QUERY, limit=5, distance_threshold=2.0)
    (plan,) = seen
    return str(plan.settings_params["ef_search"])


async def test_without_a_tuning_the_default_is_used(stocked: Database, settings: Settings) -> None:
    await store_tuning(stocked, 77, index="ix_some_other_index")
    assert await ef_used(stocked, settings) == "120"


async def test_the_newest_stored_tuning_is_used(stocked: Database, settings: Settings) -> None:
    await store_tuning(stocked, 77)
    await store_tuning(stocked, 64)
    assert await ef_used(stocked, settings) == "64"
    # An explicit ef_search still wins over the tuning.
    embeddings = EmbeddingRepository(stocked, settings)
    with pytest.MonkeyPatch.context() as patch, sent_plans(patch) as seen:
        await embeddings.similarity_search(QUERY, limit=5, distance_threshold=2.0, ef_search=31)
    assert [plan.settings_params["ef_search"] for plan in seen] == ["31"]


async def test_hnsw_ef_search_set_in_the_environment_wins(
    stocked: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store_tuning(stocked, 77)
    monkeypatch.setenv("HNSW_EF_SEARCH", "120")  # the default's value, but set on purpose
    overridden = load_settings(database_url=database_url)
    embeddings = EmbeddingRepository(stocked, overridden)
    with count_statements(stocked.read_engine) as statements:
        assert await ef_used(stocked, overridden, embeddings) == "120"
    assert not any("vector_search_tuning" in sql for sql in statements)


async def test_the_stored_value_is_read_once_per_ttl(stocked: Database, settings: Settings) -> None:
    await store_tuning(stocked, 77)
    embeddings = EmbeddingRepository(stocked, settings)
    with count_statements(stocked.read_engine) as statements:
        for _ in range(3):
            assert await ef_used(stocked, settings, embeddings) == "77"
    assert sum("vector_search_tuning" in sql for sql in statements) == 1


async def test_a_re_tune_is_picked_up_after_the_ttl(stocked: Database, settings: Settings) -> None:
    now = [1000.0]
    resolver = TunedEfSearch(settings, clock=lambda: now[0])
    await store_tuning(stocked, 77)

    async def current() -> int:
        async with stocked.read_transaction() as session:
            return await resolver.current(session)

    assert await current() == 77
    await store_tuning(stocked, 150)
    now[0] += TTL_S - 1
    assert await current() == 77
    now[0] += 2
    assert await current() == 150


async def test_a_schema_without_the_tuning_table_searches_with_the_default(
    stocked: Database, settings: Settings
) -> None:
    async with stocked.write_engine.begin() as connection:
        await connection.execute(text("DROP TABLE vector_search_tuning"))
    assert await ef_used(stocked, settings) == "120"
