"""Sampled recall on 3,000 stored random vectors: the published VectorSearchRecall equals the
recall computed here against an exact scan with the same filters and threshold."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.db import Database
from datalayer.metric_names import Metric
from datalayer.observability.emitter import metrics
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import SearchPlan
from datalayer.settings import Settings, load_settings
from tests.integration.gdpr.test_report import Recorded
from tests.integration.repositories.support import database_with_embeddings
from tests.services import PostgresHarness

QUERY = np.random.default_rng(21).random(1536) - 0.5


@pytest.fixture(scope="module")
async def stocked(postgres: PostgresHarness) -> AsyncIterator[tuple[str, list[uuid.UUID]]]:
    async with database_with_embeddings(postgres, 2900, 100) as loaded:
        yield loaded


@pytest.fixture
async def loaded(stocked: tuple[str, list[uuid.UUID]]) -> AsyncIterator[Database]:
    url = stocked[0]
    db = Database.connect(url, load_settings(database_url=url, database_pool_size=2))
    yield db
    await db.dispose()


def sampling(stocked: tuple[str, list[uuid.UUID]], rate: float) -> Settings:
    return load_settings(database_url=stocked[0], vector_recall_sample_rate=rate)


async def exact(
    db: Database,
    *,
    user: uuid.UUID | None = None,
    excluded: Sequence[uuid.UUID] = (),
) -> list[tuple[uuid.UUID, float]]:
    """Every recipe in scope with its cosine distance to QUERY, nearest first (no index)."""
    async with db.write_engine.begin() as connection:
        await connection.execute(text("SET LOCAL enable_indexscan = off"))
        rows = await connection.execute(
            text(
                "SELECT recipe_id, embedding <=> CAST(:q AS vector) AS d FROM recipe_embeddings "
                "WHERE (CAST(:user AS uuid) IS NULL OR user_id = :user) "
                "AND NOT recipe_id = ANY(CAST(:excluded AS uuid[])) ORDER BY d, recipe_id"
            ),
            {"q": str(QUERY.tolist()), "user": user, "excluded": list(excluded)},
        )
        return [(recipe, float(distance)) for recipe, distance in rows]


def published(backend: Recorded) -> list[float]:
    return [p.value for p in backend.points if p.metric is Metric.VECTOR_SEARCH_RECALL]


@pytest.fixture
async def index_preferred(stocked: tuple[str, list[uuid.UUID]]) -> AsyncIterator[Database]:
    """Connections that cannot sort: left to itself the planner reads the HNSW index, so
    only the sampler's own settings make its re-run exact."""
    url = stocked[0]
    name = url.rsplit("/", 1)[1]
    async with sql_on(url) as connection:
        await connection.execute(text(f'ALTER DATABASE "{name}" SET enable_sort = off'))
    db = Database.connect(url, load_settings(database_url=url, database_pool_size=2))
    try:
        yield db
    finally:
        await db.dispose()
        async with sql_on(url) as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" RESET enable_sort'))


@asynccontextmanager
async def sql_on(url: str) -> AsyncIterator[AsyncConnection]:
    db = Database.connect(url, load_settings(database_url=url, database_pool_size=1))
    try:
        async with db.write_engine.begin() as connection:
            yield connection
    finally:
        await db.dispose()


async def test_the_published_recall_is_the_share_of_the_exact_top_k_returned(
    index_preferred: Database, stocked: tuple[str, list[uuid.UUID]]
) -> None:
    loaded = index_preferred
    embeddings = EmbeddingRepository(loaded, sampling(stocked, 1.0))
    backend = Recorded()
    with metrics.use(backend, environment="test"):
        found = await embeddings.similarity_search(
            QUERY, limit=20, distance_threshold=2.0, ef_search=25
        )
        assert embeddings.recall.busy  # measured in the background, after the call returned
        await embeddings.recall.drain()
    truth = [recipe for recipe, _ in (await exact(loaded))[:20]]
    expected = 100.0 * len({match.recipe_id for match in found} & set(truth)) / 20
    assert published(backend) == [pytest.approx(expected)]
    assert expected < 100.0, "ef_search=25 found the exact top 20: nothing was measured"
    assert [p.breakdown for p in backend.points if p.metric is Metric.VECTOR_SEARCH_RECALL] == [
        None  # only the Environment dimension: the one the accuracy alarm reads
    ]


async def test_the_exact_re_run_applies_the_same_filters_and_threshold(
    loaded: Database, stocked: tuple[str, list[uuid.UUID]]
) -> None:
    owner = stocked[1][0]
    in_scope = await exact(loaded, user=owner)
    excluded = [recipe for recipe, _ in in_scope[:3]]
    threshold = in_scope[17][1]  # the 15th nearest once the three are excluded
    embeddings = EmbeddingRepository(loaded, sampling(stocked, 1.0))
    backend = Recorded()
    with metrics.use(backend, environment="test"):
        found = await embeddings.similarity_search(
            QUERY,
            limit=20,
            user_id=owner,
            exclude_recipe_ids=excluded,
            distance_threshold=threshold,
            ef_search=10,
        )
        await embeddings.recall.drain()
    truth = [
        recipe
        for recipe, distance in await exact(loaded, user=owner, excluded=excluded)
        if distance <= threshold
    ][:20]
    assert len(truth) == 15
    expected = 100.0 * len({match.recipe_id for match in found} & set(truth)) / len(truth)
    assert published(backend) == [pytest.approx(expected)]


async def test_a_rate_of_zero_publishes_nothing_and_runs_nothing(
    loaded: Database, stocked: tuple[str, list[uuid.UUID]]
) -> None:
    embeddings = EmbeddingRepository(loaded, sampling(stocked, 0.0))
    backend = Recorded()
    with metrics.use(backend, environment="test"):
        for _ in range(5):
            await embeddings.similarity_search(QUERY, limit=20, ef_search=25)
        assert not embeddings.recall.busy
        await embeddings.recall.drain()
    assert published(backend) == []


async def test_one_re_run_at_a_time_and_its_failures_stay_in_the_background(
    loaded: Database, stocked: tuple[str, list[uuid.UUID]], caplog: pytest.LogCaptureFixture
) -> None:
    sampler = EmbeddingRepository(loaded, sampling(stocked, 1.0)).recall
    one = SearchPlan(
        "SELECT 1",
        {},
        "SELECT 1, 1, NULL, false, recipe_id, 0.0 FROM recipe_embeddings "
        "ORDER BY recipe_id LIMIT 1",
        {},
    )
    backend = Recorded()
    with metrics.use(backend, environment="test"):
        sampler.offer(one, [])
        sampler.offer(one, [])  # one is in flight: dropped, never queued
        await sampler.drain()
        await asyncio.sleep(1.0)  # time enough for a second re-run, had one started
        assert published(backend) == [0.0]  # the search had returned nothing of the one row

        broken = replace(one, sql="SELECT no_such_column FROM recipe_embeddings")
        with caplog.at_level(logging.WARNING, logger="datalayer.observability.recall"):
            sampler.offer(broken, [])
            await sampler.drain()  # raises nothing
        assert published(backend) == [0.0]
    assert [r.getMessage() for r in caplog.records] == ["sampled recall failed"]
