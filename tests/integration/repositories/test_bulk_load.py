"""EmbeddingRepository.bulk_load: the vector indexes dropped and rebuilt around large loads,
exactly as defined, by the application's own role, all or nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import numpy as np
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import (
    ConflictError,
    DataLayerError,
    InvalidInputError,
    PermissionDeniedError,
    UnavailableError,
)
from datalayer.repositories import embedding_copy
from datalayer.repositories.embedding_index import (
    REBUILD_MIN_ROWS,
    build_memory_mb,
    should_rebuild,
)
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.schemas.embeddings import EmbeddingIn
from datalayer.settings import Settings, load_settings
from tests import factories
from tests.integration.repositories.support import HNSW_INDEX
from tests.services import PostgresHarness

DIM = 1536
HASH = factories.sha256("source")
# An index another migration could add: an HNSW over a halfvec expression, other parameters.
HALFVEC_INDEX = (
    "CREATE INDEX ix_recipe_embeddings_halfvec_hnsw ON recipe_embeddings USING hnsw "
    f"((embedding::halfvec({DIM})) halfvec_cosine_ops) WITH (m = 8, ef_construction = 32)"
)
VECTOR_INDEXES = (
    "SELECT c.relname, c.oid::bigint, pg_get_indexdef(c.oid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
    "WHERE i.indrelid = 'recipe_embeddings'::regclass AND a.amname = 'hnsw' ORDER BY 1"
)


async def recipes_of(db: Database, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A new user owning ``count`` recipes (one INSERT); returns the owner and the ids."""
    async with db.transaction() as session:
        owner = factories.user()
        session.add(owner)
        await session.flush()
        rows = await session.execute(
            text(
                "INSERT INTO recipes (user_id, title, content_hash) "
                "SELECT :owner, 'Dish ' || g, repeat('a', 64) FROM generate_series(1, :count) g "
                "RETURNING id"
            ),
            {"owner": owner.id, "count": count},
        )
        return owner.id, [row[0] for row in rows]


def rows_for(
    owner: uuid.UUID, ids: list[uuid.UUID], seed: int = 3, *, same_vector: bool = False
) -> list[EmbeddingIn]:
    """A row per recipe of ``ids``; ``same_vector``: one array for every row (large loads
    stay small in memory)."""
    if same_vector:
        vectors = [np.ones(DIM, dtype=np.float32)] * len(ids)
    else:
        vectors = list(np.random.default_rng(seed).normal(size=(len(ids), DIM)))
    return [
        EmbeddingIn(
            recipe_id=recipe_id,
            user_id=owner,
            embedding=vector,
            model="m",
            model_version="1",
            source_text_hash=HASH,
        )
        for recipe_id, vector in zip(ids, vectors, strict=True)
    ]


async def vector_indexes(db: Database) -> list[tuple[str, int, str]]:
    async with db.transaction() as session:
        return [tuple(row) for row in await session.execute(text(VECTOR_INDEXES))]  # type: ignore[misc]


async def embedding_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(
            (await session.execute(text("SELECT count(*) FROM recipe_embeddings"))).scalar_one()
        )


def test_the_rebuild_asks_for_the_memory_its_graph_needs(settings: Settings) -> None:
    cap = settings.embedding_index_build_memory_mb
    assert build_memory_mb(0, DIM, settings) == 64  # never below a useful minimum
    assert build_memory_mb(20_000, DIM, settings) == 245  # (8 + 2) KB a row, a quarter more
    assert build_memory_mb(10_000_000, DIM, settings) == cap


def test_the_rebuild_threshold() -> None:
    assert not should_rebuild(REBUILD_MIN_ROWS - 1, 0)  # small loads never rebuild
    assert should_rebuild(REBUILD_MIN_ROWS, 0)  # into an empty table
    assert should_rebuild(20_000, 80_000)  # 20% of the table after the load
    assert not should_rebuild(19_999, 80_001)
    assert not should_rebuild(50_000, 1_000_000)  # through the index: 5% of the table


async def test_a_rebuild_recreates_every_vector_index_exactly(
    db: Database, settings: Settings
) -> None:
    async with db.transaction() as session:
        await session.execute(text(HALFVEC_INDEX))
    before = await vector_indexes(db)
    assert [name for name, _, _ in before] == [HNSW_INDEX, "ix_recipe_embeddings_halfvec_hnsw"]
    owner, ids = await recipes_of(db, 40)
    rows = rows_for(owner, ids)

    done = await EmbeddingRepository(db, settings).bulk_load(rows, rebuild_index=True)

    after = await vector_indexes(db)
    assert done.rows == 40
    assert sorted(done.rebuilt_indexes) == sorted(f"public.{name}" for name, _, _ in before)
    assert done.index_build_s is not None and done.index_build_s > 0
    assert [(name, ddl) for name, _, ddl in after] == [(name, ddl) for name, _, ddl in before]
    assert {oid for _, oid, _ in after}.isdisjoint(oid for _, oid, _ in before)  # new indexes
    # The rebuilt index holds the loaded rows: an index scan finds a row's own vector first.
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL hnsw.ef_search = 100"))
        nearest = await session.execute(
            text(
                "SELECT recipe_id FROM recipe_embeddings ORDER BY embedding <=> "
                "(SELECT embedding FROM recipe_embeddings WHERE recipe_id = :id) LIMIT 1"
            ),
            {"id": ids[7]},
        )
        assert nearest.scalar_one() == ids[7]


async def test_the_automatic_choice_follows_the_share_of_the_table(
    db: Database, settings: Settings
) -> None:
    repository = EmbeddingRepository(db, settings)
    owner, ids = await recipes_of(db, REBUILD_MIN_ROWS + 50)
    small = await repository.bulk_load(rows_for(owner, ids[:50]))
    assert (small.rebuilt_indexes, small.index_build_s) == ([], None)
    oid_before = (await vector_indexes(db))[0][1]
    async with db.transaction() as session:
        await session.execute(text("ANALYZE recipe_embeddings"))
    large = await repository.bulk_load(rows_for(owner, ids[50:]))
    assert large.rebuilt_indexes == [f"public.{HNSW_INDEX}"]
    assert (await vector_indexes(db))[0][1] != oid_before
    forced = await repository.bulk_load([], rebuild_index=True)
    assert forced.rows == 0 and forced.rebuilt_indexes == []
    assert await embedding_count(db) == REBUILD_MIN_ROWS + 50


async def test_a_failed_load_keeps_the_indexes_and_loads_nothing(
    db: Database, settings: Settings
) -> None:
    owner, ids = await recipes_of(db, 5)
    stranger, _ = await recipes_of(db, 0)
    rows = rows_for(owner, ids)
    rows[-1] = rows[-1].model_copy(update={"user_id": stranger})  # not the recipe's owner
    before = await vector_indexes(db)
    with pytest.raises(InvalidInputError):
        await EmbeddingRepository(db, settings).bulk_load(rows, rebuild_index=True)
    assert await vector_indexes(db) == before  # same index, same oid: the drop rolled back
    assert await embedding_count(db) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.full(DIM, np.nan), "contains NaN or infinity"),
        (np.ones(DIM - 1), f"has {DIM - 1} dimensions, expected {DIM}"),
        (np.zeros(DIM), "is a zero vector"),
    ],
)
async def test_a_bad_vector_deep_in_a_large_load_is_named_and_nothing_is_written(
    db: Database, settings: Settings, bad: np.ndarray, message: str
) -> None:
    owner, ids = await recipes_of(db, 12_000)
    rows = rows_for(owner, ids, same_vector=True)
    rows[11_000] = rows[11_000].model_copy(update={"embedding": bad})
    before = await vector_indexes(db)
    with pytest.raises(InvalidInputError, match=rf"^rows\[11000\]\.embedding {message}"):
        await EmbeddingRepository(db, settings).bulk_load(rows, batch_size=1000, rebuild_index=True)
    assert await vector_indexes(db) == before
    assert await embedding_count(db) == 0


async def test_a_load_in_many_chunks_writes_every_row_as_given(
    db: Database, settings: Settings
) -> None:
    owner, ids = await recipes_of(db, 25)
    rows = [
        row.model_copy(update={"model": f"m{index % 2}", "model_version": f"{index % 3}"})
        for index, row in enumerate(rows_for(owner, ids))
    ]
    done = await EmbeddingRepository(db, settings).bulk_load(rows, batch_size=4)
    assert done.rows == 25
    async with db.transaction() as session:
        stored = {
            row.recipe_id: row
            for row in await session.execute(
                text(
                    "SELECT id, recipe_id, user_id, embedding::text AS vector, model, "
                    "model_version, source_text_hash, is_stale FROM recipe_embeddings"
                )
            )
        }
    assert set(stored) == set(ids)
    for row in rows:
        found = stored[row.recipe_id]
        assert (found.user_id, found.model, found.model_version, found.source_text_hash) == (
            owner,
            row.model,
            row.model_version,
            HASH,
        )
        assert not found.is_stale
        assert np.allclose(np.array(json.loads(found.vector)), row.embedding, atol=1e-6)
    assert len({row.id for row in stored.values()}) == 25
    assert {row.id.version for row in stored.values()} == {4}


async def test_an_unknown_recipe_in_a_late_chunk_loads_nothing(
    db: Database, settings: Settings
) -> None:
    owner, ids = await recipes_of(db, 30)
    rows = rows_for(owner, ids)
    rows[28] = rows[28].model_copy(update={"recipe_id": uuid.uuid4()})  # no such recipe
    with pytest.raises(InvalidInputError, match="does not exist"):
        await EmbeddingRepository(db, settings).bulk_load(rows, batch_size=5)
    assert await embedding_count(db) == 0


async def test_bad_options_are_typed_errors(db: Database, settings: Settings) -> None:
    repository = EmbeddingRepository(db, settings)
    with pytest.raises(InvalidInputError, match="rebuild_index"):
        await repository.bulk_load([], rebuild_index="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="batch_size"):
        await repository.bulk_load([], batch_size=0)


async def test_the_index_lock_is_awaited_only_as_long_as_the_lock_timeout(
    db: Database, database_url: str
) -> None:
    settings = load_settings(database_url=database_url, database_lock_timeout_ms=200)
    owner, ids = await recipes_of(db, 3)
    before = await vector_indexes(db)
    async with await psycopg.AsyncConnection.connect(database_url) as reader:
        await reader.execute("SELECT count(*) FROM recipe_embeddings")  # holds ACCESS SHARE
        with pytest.raises(ConflictError):
            await asyncio.wait_for(
                EmbeddingRepository(db, settings).bulk_load(
                    rows_for(owner, ids), rebuild_index=True
                ),
                timeout=20,
            )
    assert await vector_indexes(db) == before
    assert await embedding_count(db) == 0


@pytest.fixture
def app_login(postgres: PostgresHarness, database_url: str) -> Iterator[str]:
    """The URL of a new login role that is a member of the application's role only."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'app-test' IN ROLE {}").format(
                sql.Identifier(role), sql.Identifier(load_settings().database_app_role)
            )
        )
    yield (
        make_url(database_url)
        .set(username=role, password="app-test")
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
async def app_db(app_login: str) -> AsyncIterator[Database]:
    settings = load_settings(database_url=app_login)
    db = Database.connect(app_login, settings)
    yield db
    await db.dispose()


async def test_the_application_role_rebuilds_through_the_migration_functions(
    db: Database, app_db: Database, app_login: str
) -> None:
    owner, ids = await recipes_of(db, 30)
    before = await vector_indexes(db)
    settings = load_settings(database_url=app_login)
    done = await EmbeddingRepository(app_db, settings).bulk_load(
        rows_for(owner, ids), rebuild_index=True
    )
    assert done.rebuilt_indexes == [f"public.{HNSW_INDEX}"]
    after = await vector_indexes(db)
    assert [ddl for _, _, ddl in after] == [ddl for _, _, ddl in before]
    assert after[0][1] != before[0][1]
    with pytest.raises(PermissionDeniedError, match="must be owner"):
        async with app_db.transaction() as session:  # the role itself may not drop the index
            await session.execute(text(f"DROP INDEX {HNSW_INDEX}"))


async def test_the_rebuild_function_runs_only_what_the_drop_function_kept(
    app_db: Database,
) -> None:
    with pytest.raises(DataLayerError, match="SQLSTATE 55000"):
        async with app_db.transaction() as session:
            await session.execute(text("SELECT rebuild_embedding_vector_indexes()"))
    with pytest.raises(DataLayerError, match="SQLSTATE 55000"):
        async with app_db.transaction() as session:
            # A look-alike table of the caller's own, holding DDL of its choosing.
            await session.execute(
                text(
                    "CREATE TEMPORARY TABLE embedding_vector_index_rebuild ON COMMIT DROP AS "
                    "SELECT 'x'::text AS index_name, "
                    "'DROP TABLE recipes CASCADE'::text AS definition"
                )
            )
            await session.execute(text("SELECT rebuild_embedding_vector_indexes()"))
    async with app_db.transaction() as session:
        assert (await session.execute(text("SELECT to_regclass('recipes')"))).scalar_one()


async def test_a_connection_lost_mid_copy_is_a_typed_error_and_writes_nothing(
    db: Database, settings: Settings, postgres: PostgresHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server drops the load's connection after the first chunks went out, while a later
    chunk with a bad vector is being encoded: the load fails with UnavailableError (the
    lost connection outranks the bad row), writes nothing, and the pool loads again."""
    owner, ids = await recipes_of(db, 50)
    rows = rows_for(owner, ids)
    rows[35] = rows[35].model_copy(update={"embedding": np.full(DIM, np.nan)})
    encode = embedding_copy.encode_chunk

    def encode_with_a_fault(part: list[EmbeddingIn], dim: int, first_row: int) -> list[memoryview]:
        if first_row == 10:
            with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'COPY recipe_embeddings%' AND pid <> pg_backend_pid()"
                )
        if first_row >= 20:
            time.sleep(0.3)  # the server is gone by the time these chunks are sent
        return encode(part, dim, first_row)

    monkeypatch.setattr(embedding_copy, "encode_chunk", encode_with_a_fault)
    with pytest.raises(UnavailableError):
        await EmbeddingRepository(db, settings).bulk_load(rows, batch_size=10)
    assert await embedding_count(db) == 0
    monkeypatch.setattr(embedding_copy, "encode_chunk", encode)
    good = rows_for(owner, ids)
    assert (await EmbeddingRepository(db, settings).bulk_load(good, batch_size=10)).rows == 50
