"""Recipe embeddings: storage, pgvector similarity search and bulk loading.

Search settings are applied per transaction (``set_config(..., true)``), never per session,
so they are safe behind a transaction pooler; they travel with the search in one pipelined
round trip (:mod:`datalayer.repositories.similarity`). A user-scoped search reads a small
scope exactly and a large one through the HNSW index with an iterative scan; exclusions use
the iterative scan too, so a filter still returns ``min(limit, matching rows)`` rows, and a
result that may not is flagged (:class:`~datalayer.schemas.embeddings.SearchResults`).

Embedding maintenance (store, update, delete, reprocessing, bulk load) is a system operation
of the AI pipeline and takes no acting user; searches take an optional user scope. Recipes of
inactive users (deactivated, or with a pending deletion request) are never returned: the
candidates are filtered through ``users`` after the index scan, so the check costs one
primary-key probe per candidate.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.cache import keys
from datalayer.db import Database, idempotent_read
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.metric_names import Metric
from datalayer.observability.emitter import metrics
from datalayer.observability.recall import RecallSampler
from datalayer.repositories.caching import invalidations, recipe_updated
from datalayer.repositories.embedding_index import load_rows
from datalayer.repositories.embedding_sql import (
    BATCH_SEARCH,
    EMBEDDING_COLUMNS,
    NEEDS_EMBEDDING,
    SEARCH_SETTINGS,
    STATS_COLUMNS,
    SUMMARY_COLUMNS,
    UPSERT,
)
from datalayer.repositories.search_tuning import TunedEfSearch
from datalayer.repositories.similarity import (
    CANDIDATES,
    PoolStats,
    SearchPlan,
    assess,
    driver_connection,
    search_plan,
    send_pipelined,
    with_ef_search,
    with_vectors,
)
from datalayer.schemas.common import as_uuid, bounded_int, parse, parse_value
from datalayer.schemas.embeddings import (
    BulkLoadOut,
    EmbeddingIn,
    EmbeddingMeta,
    EmbeddingOut,
    ModelSpec,
    SearchResults,
    Sha256Hex,
    SimilarityMatchOut,
    SimilarityQuery,
    SimilarRecipeOut,
)
from datalayer.schemas.recipes import RecipeSummaryOut
from datalayer.settings import Settings
from datalayer.vectors import as_vector, as_vectors

MAX_SCOPED_INVALIDATIONS = 1000
"""A bulk load of more rows than this invalidates the whole cache in one operation."""
_MAYBE_EMBEDDING = TypeAdapter(EmbeddingOut | None)
MAX_BATCH = 100


class EmbeddingRepository:
    """Vector storage and similarity search over ``recipe_embeddings``.

    A search given no ``ef_search`` uses the tuned one (:mod:`.search_tuning`); ``recall``
    re-runs a sample of searches exactly (:mod:`datalayer.observability.recall`).
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._dim = settings.embedding_dim
        self._ef_search = TunedEfSearch(settings)
        self.recall = RecallSampler(db, settings)

    # -- writes --------------------------------------------------------------------------
    async def store_embedding(
        self,
        recipe_id: uuid.UUID,
        embedding: Any,
        model: str,
        model_version: str,
        source_text_hash: str,
    ) -> uuid.UUID:
        """Store (or replace) the embedding of a recipe; returns the embedding id.

        NotFoundError when the recipe does not exist.
        """
        meta = parse(
            EmbeddingMeta,
            {"model": model, "model_version": model_version, "source_text_hash": source_text_hash},
        )
        params = {
            **meta.model_dump(),
            "recipe_id": as_uuid(recipe_id, "recipe_id"),
            "embedding": as_vector(embedding, self._dim),
        }
        async with self._db.transaction() as session:
            await _binary_vectors(session)
            row = (await session.execute(text(UPSERT), params)).first()
            recipe_updated(session, params["recipe_id"], None)
        if row is None:
            raise NotFoundError("recipe not found")
        return uuid.UUID(str(row[0]))

    async def update_embedding(
        self, recipe_id: uuid.UUID, embedding: Any, source_text_hash: str
    ) -> EmbeddingOut:
        """Replace the vector of an existing embedding (same model) and clear its stale flag;
        returns the updated embedding, NotFoundError when the recipe has none."""
        params = {
            "recipe_id": as_uuid(recipe_id, "recipe_id"),
            "source_text_hash": parse_value(Sha256Hex, source_text_hash, "source_text_hash"),
            "embedding": as_vector(embedding, self._dim),
        }
        statement = text(
            "UPDATE recipe_embeddings SET embedding = :embedding, "
            "source_text_hash = :source_text_hash, is_stale = false "
            f"WHERE recipe_id = :recipe_id RETURNING {EMBEDDING_COLUMNS}"
        )
        async with self._db.transaction() as session:
            await _binary_vectors(session)
            row = (await session.execute(statement, params)).mappings().first()
            recipe_updated(session, params["recipe_id"], None)
        if row is None:
            raise NotFoundError("embedding not found")
        return _embedding_out(row)

    async def delete_embedding(self, recipe_id: uuid.UUID) -> None:
        """Delete a recipe's embedding; NotFoundError when there is none."""
        wanted = as_uuid(recipe_id, "recipe_id")
        async with self._db.transaction() as session:
            result = await session.execute(
                text("DELETE FROM recipe_embeddings WHERE recipe_id = :recipe_id"),
                {"recipe_id": wanted},
            )
            recipe_updated(session, wanted, None)
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFoundError("embedding not found")

    async def bulk_load(
        self,
        rows: Iterable[EmbeddingIn],
        *,
        batch_size: int = 1000,
        rebuild_index: bool | None = None,
    ) -> BulkLoadOut:
        """Load many embeddings with binary COPY in one transaction.

        The load is one transaction: one bad row loads nothing, and its error names it
        (``rows[73000].embedding contains NaN or infinity``), as does a row the database
        refuses (a recipe that does not exist or has another owner). Each chunk of
        ``batch_size`` rows is checked and encoded while the previous one is being copied:
        a bad vector late in a large load is found after the rows before it went to the
        server, and they roll back with it. Chunks of 1,000 rows overlap the client's work
        with the server's from the first few thousand rows on. The load has no statement
        timeout: it lasts as long as its rows need.

        ``rebuild_index`` chooses how the vector indexes take the new rows. ``True`` drops
        them before the COPY and rebuilds them after it, in the same transaction (with
        ``EMBEDDING_INDEX_BUILD_MEMORY_MB`` and ``EMBEDDING_INDEX_BUILD_WORKERS``); ``False``
        inserts every row into them; ``None`` (the default) rebuilds when the load brings at
        least 1,000 rows and 20% of the rows the table will hold, where one build costs less
        than the inserts. The trade-off: the rebuild locks ``recipe_embeddings`` (ACCESS
        EXCLUSIVE, awaited at most ``DATABASE_LOCK_TIMEOUT_MS``, else ``ConflictError``)
        until the transaction commits, so every search and read of embeddings waits for the
        whole load and build; no one ever sees the table without its indexes. A load through
        the indexes blocks no reader but runs at index-insert speed.
        """
        if rebuild_index is not None and not isinstance(rebuild_index, bool):
            raise InvalidInputError(
                "rebuild_index must be True, False or None", field="rebuild_index"
            )
        batch_size = bounded_int(batch_size, "batch_size", low=1, high=100_000)
        parsed = [parse(EmbeddingIn, item) for item in rows]
        if not parsed:
            return BulkLoadOut(rows=0, rebuilt_indexes=[], copy_s=0.0, index_build_s=None)
        async with self._db.transaction() as session:
            done = await load_rows(session, parsed, batch_size, self._settings, rebuild_index)
            if (pending := invalidations(session)) is not None:
                if len(parsed) > MAX_SCOPED_INVALIDATIONS:
                    pending.everything()  # one increment instead of one per loaded row
                else:
                    for row in parsed:
                        pending.recipe_updated(row.recipe_id, None)
        return done

    # -- reads ---------------------------------------------------------------------------
    async def get_embedding(self, recipe_id: uuid.UUID) -> EmbeddingOut:
        """The embedding of a recipe, or NotFoundError."""
        found = await self.find_embedding(recipe_id)
        if found is None:
            raise NotFoundError("embedding not found")
        return found

    @idempotent_read
    async def find_embedding(self, recipe_id: uuid.UUID) -> EmbeddingOut | None:
        """The embedding of a recipe, or None."""
        wanted = as_uuid(recipe_id, "recipe_id")
        statement = text(
            f"SELECT {EMBEDDING_COLUMNS} FROM recipe_embeddings WHERE recipe_id = :recipe_id"
        )

        async def query(session: AsyncSession) -> EmbeddingOut | None:
            await _binary_vectors(session)
            row = (await session.execute(statement, {"recipe_id": wanted})).mappings().first()
            return None if row is None else _embedding_out(row)

        return await self._db.cached_read(
            keys.recipe_embeddings(wanted), query, adapter=_MAYBE_EMBEDDING
        )

    @overload
    async def similarity_search(
        self,
        query_embedding: Any,
        limit: int = 20,
        user_id: uuid.UUID | None = None,
        exclude_recipe_ids: Sequence[uuid.UUID] | None = None,
        *,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
        hydrate: Literal[False] = False,
    ) -> SearchResults[SimilarityMatchOut]: ...

    @overload
    async def similarity_search(
        self,
        query_embedding: Any,
        limit: int = 20,
        user_id: uuid.UUID | None = None,
        exclude_recipe_ids: Sequence[uuid.UUID] | None = None,
        *,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
        hydrate: Literal[True],
    ) -> SearchResults[SimilarRecipeOut]: ...

    @idempotent_read
    async def similarity_search(
        self,
        query_embedding: Any,
        limit: int = 20,
        user_id: uuid.UUID | None = None,
        exclude_recipe_ids: Sequence[uuid.UUID] | None = None,
        *,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
        hydrate: bool = False,
    ) -> SearchResults[SimilarityMatchOut] | SearchResults[SimilarRecipeOut]:
        """The recipes nearest to ``query_embedding`` by cosine distance, best first.

        ``user_id`` scopes the search to one owner (``None``: every active user's recipe, a
        system-wide query); ``exclude_recipe_ids`` are never returned; matches farther than
        ``distance_threshold`` are dropped. With ``hydrate=True`` each match carries the
        recipe's summary (:class:`SimilarRecipeOut`), read in the same query. The result is
        a list (:class:`SearchResults`) that also says whether it is at risk of being
        incomplete (``at_risk``, ``risk``) and whether the scope was read exactly.
        """
        plan = self.plan_search(
            query_embedding,
            limit,
            user_id,
            exclude_recipe_ids,
            distance_threshold=distance_threshold,
            ef_search=ef_search,
            hydrate=hydrate,
        )
        started = time.perf_counter()
        if ef_search is None:
            plan = with_ef_search(plan, await self._ef_search.resolve(self._db.read_transaction))
        async with self._db.driver_read() as connection:
            rows = await send_pipelined(await with_vectors(connection), plan, plan.params)
        metrics.observe(Metric.VECTOR_SEARCH_LATENCY, (time.perf_counter() - started) * 1000)
        stats = PoolStats.of(rows)
        found = [row[STATS_COLUMNS:] for row in rows if row[STATS_COLUMNS] is not None]
        self.recall.offer(plan, [row[0] for row in found])
        risk = assess(stats, len(found), plan, self._ef_search.known())
        if hydrate:
            return SearchResults(
                [_similar_recipe(row) for row in found], risk=risk, exact=stats.exact
            )
        return SearchResults(
            [SimilarityMatchOut(recipe_id=row[0], distance=row[1]) for row in found],
            risk=risk,
            exact=stats.exact,
        )

    def plan_search(
        self,
        query_embedding: Any,
        limit: int = 20,
        user_id: uuid.UUID | None = None,
        exclude_recipe_ids: Sequence[uuid.UUID] | None = None,
        *,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
        hydrate: bool = False,
    ) -> SearchPlan:
        """The validated statements :meth:`similarity_search` sends for these arguments
        (benchmarks replay them through raw psycopg); InvalidInputError on bad input."""
        if not isinstance(hydrate, bool):
            raise InvalidInputError("hydrate must be True or False", field="hydrate")
        query = parse(
            SimilarityQuery,
            {
                "limit": limit,
                "user_id": user_id,
                "exclude_recipe_ids": [] if exclude_recipe_ids is None else exclude_recipe_ids,
                "distance_threshold": distance_threshold,
                "ef_search": ef_search,
            },
        )
        return search_plan(
            as_vector(query_embedding, self._dim, field="query_embedding"),
            limit=query.limit,
            threshold=query.distance_threshold,
            ef_search=query.ef_search or self._ef_search.known(),
            user_id=query.user_id,
            excluded=query.exclude_recipe_ids,
            hydrate=hydrate,
        )

    @idempotent_read
    async def batch_similarity_search(
        self,
        query_embeddings: Sequence[Any],
        limit: int = 20,
        *,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
    ) -> list[SearchResults[SimilarityMatchOut]]:
        """One similarity search per query embedding (over every active user's recipes), in
        a single round trip; each result judged as in :meth:`similarity_search`."""
        if (
            isinstance(query_embeddings, str | bytes)
            or not hasattr(query_embeddings, "__len__")
            or not 1 <= len(query_embeddings) <= MAX_BATCH
        ):
            raise InvalidInputError(
                f"query_embeddings must hold 1 to {MAX_BATCH} vectors", field="query_embeddings"
            )
        query = parse(
            SimilarityQuery,
            {
                "limit": limit,
                "distance_threshold": distance_threshold,
                "ef_search": ef_search,
            },
        )
        candidates = max(CANDIDATES, query.limit)
        resolved_ef = query.ef_search or self._ef_search.known()
        plan = SearchPlan(
            SEARCH_SETTINGS,
            {"ef_search": str(resolved_ef), "iterative_scan": "off"},
            BATCH_SEARCH,
            {
                "queries": as_vectors(query_embeddings, self._dim),
                "candidates": candidates,
                "threshold": query.distance_threshold,
            },
            query.limit,
            resolved_ef,
        )
        pools: list[list[tuple[Any, ...]]] = [[] for _ in query_embeddings]
        if ef_search is None:
            plan = with_ef_search(plan, await self._ef_search.resolve(self._db.read_transaction))
        async with self._db.driver_read() as connection:
            rows = await send_pipelined(await with_vectors(connection), plan, plan.params)
        for index, recipe_id, distance, kept, _ in rows:
            pools[index].append((recipe_id, distance, kept))
        table_rows = int(rows[0][4]) if rows else 0
        results = []
        for pool in pools:
            matches = [
                SimilarityMatchOut(recipe_id=recipe_id, distance=distance)
                for recipe_id, distance, kept in pool
                if kept
            ][: query.limit]
            stats = PoolStats(
                pool=len(pool),
                near=sum(1 for _, distance, _ in pool if distance <= query.distance_threshold),
                scope_rows=table_rows,
                exact=False,
            )
            risk = assess(stats, len(matches), plan, self._ef_search.known())
            results.append(SearchResults(matches, risk=risk))
        return results

    @idempotent_read
    async def get_embeddings_for_reprocessing(
        self, model: str, model_version: str, *, limit: int = 1000
    ) -> list[uuid.UUID]:
        """Recipes with no embedding, a stale one, or one from another model or version."""
        data = parse(ModelSpec, {"model": model, "model_version": model_version})
        limit = bounded_int(limit, "limit", low=1, high=10_000)
        async with self._db.read_transaction() as session:
            rows = await session.execute(
                text(NEEDS_EMBEDDING),
                {"model": data.model, "model_version": data.model_version, "limit": limit},
            )
            return [row[0] for row in rows]


def _embedding_out(row: Any) -> EmbeddingOut:
    values = dict(row)
    values["embedding"] = values["embedding"].to_list()  # a pgvector.Vector
    return EmbeddingOut.model_validate(values)


def _similar_recipe(row: Sequence[Any]) -> SimilarRecipeOut:
    recipe_id, distance, *summary = row
    return SimilarRecipeOut(
        recipe_id=recipe_id,
        distance=distance,
        recipe=RecipeSummaryOut.model_validate(
            dict(zip(SUMMARY_COLUMNS, (recipe_id, *summary), strict=True))
        ),
    )


async def _binary_vectors(session: Any) -> None:
    """Register pgvector's psycopg adapters on this connection (once per connection)."""
    await driver_connection(session)
