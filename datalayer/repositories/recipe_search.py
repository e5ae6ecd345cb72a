"""Hybrid recipe search: words and meaning together, for one user's recipes.

A query such as ``spicy chicken without peanuts`` has words that must match and a meaning
that nearby embeddings capture. :meth:`RecipeSearchRepository.hybrid_search` takes both
lists, each from the user's own recipes, and fuses them by reciprocal rank fusion (RRF):
a recipe scores ``1 / (k + rank)`` in each list it appears in (rank 1 first), summed, with
the conventional ``k = 60``. Neither list's raw scores are compared with the other's, so
no weighting has to be tuned: a recipe near the top of both lists beats one that only one
list likes.

- Words: ``websearch_to_tsquery`` over the weighted search vector, ranked by
  ``ts_rank_cd`` then id (the order of :meth:`RecipeRepository.search_recipes`). ``without
  X`` is read as ``-X``.
- Meaning: the nearest embeddings by cosine distance, ranked by distance then id, within
  the distance threshold (as :meth:`EmbeddingRepository.similarity_search`). A recipe whose
  text has a word the query excludes (``-X``) is dropped from this list too.
- Each list takes its best 50 (or ``limit`` if more); excluded ids and inactive users'
  recipes never appear. Ties of the fused score are broken by recipe id.

Both lists and the fusion are one SQL statement, sent with its settings (ef_search,
iterative scans) in one pipelined round trip, as the similarity search is. This is its own
repository because it reads two aggregates (recipes and their embeddings) and needs the
embedding settings the recipe repository does not take.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from datalayer.db import Database, idempotent_read
from datalayer.repositories.active_users import ACTIVE_USER_SQL
from datalayer.repositories.embedding_sql import SUMMARY_COLUMNS
from datalayer.repositories.search_tuning import TunedEfSearch
from datalayer.repositories.similarity import SearchPlan, driver_connection, send_pipelined
from datalayer.schemas.common import parse
from datalayer.schemas.recipes import RecipeSummaryOut
from datalayer.schemas.search import HybridHitOut, HybridQuery
from datalayer.settings import Settings
from datalayer.vectors import as_vector

RRF_K = 60
CANDIDATES = 50
"""How many recipes each list contributes (``limit`` when that is larger)."""
# A filtered search's settings, for the search's implicit transaction only: iterative HNSW
# scans should the planner pick the index, and plans made for the user at hand.
HYBRID_SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %(ef_search)s, true), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)

_WITHOUT = re.compile(r"(?i)(?<!\S)without\s+(?=[^\s-])")
_NEGATED = re.compile(r'(?<!\S)-("[^"]*"?|[^\s"]+)')

HYBRID = f"""
WITH words AS MATERIALIZED (
    SELECT r.id AS recipe_id,
           row_number() OVER (ORDER BY ts_rank_cd(r.search_vector, q) DESC, r.id) AS position
      FROM recipes AS r, websearch_to_tsquery('english', %(words)s) AS q
     WHERE r.user_id = %(user_id)s AND r.search_vector @@ q{{recipe_filter}}
     ORDER BY ts_rank_cd(r.search_vector, q) DESC, r.id
     LIMIT %(candidates)s
),
nearest AS MATERIALIZED (
    SELECT e.recipe_id, e.embedding <=> %(embedding)s AS distance
      FROM recipe_embeddings AS e
     WHERE e.user_id = %(user_id)s{{embedding_filter}}
     ORDER BY e.embedding <=> %(embedding)s
     LIMIT %(candidates)s
),
meaning AS (
    SELECT n.recipe_id, n.distance,
           row_number() OVER (ORDER BY n.distance, n.recipe_id) AS position
      FROM nearest AS n{{meaning_join}}
     WHERE n.distance <= %(threshold)s{{meaning_filter}}
),
fused AS (
    SELECT coalesce(w.recipe_id, m.recipe_id) AS recipe_id,
           coalesce(1.0::float8 / (%(k)s + w.position), 0)
             + coalesce(1.0::float8 / (%(k)s + m.position), 0) AS score,
           w.position AS text_rank, m.position AS vector_rank, m.distance
      FROM words AS w
      FULL JOIN meaning AS m ON m.recipe_id = w.recipe_id
)
SELECT f.score, f.text_rank, f.vector_rank, f.distance,
       {", ".join(f"r.{name} AS recipe_{name}" for name in SUMMARY_COLUMNS)}
  FROM fused AS f
  JOIN recipes AS r ON r.id = f.recipe_id
  JOIN users AS u ON u.id = r.user_id
 WHERE {ACTIVE_USER_SQL}
 ORDER BY f.score DESC, f.recipe_id
 LIMIT %(limit)s
"""


def words_query(query_text: str) -> str:
    """The web-search query of the words list: ``without X`` becomes ``-X``."""
    return _WITHOUT.sub("-", query_text)


def excluded_terms(query_text: str) -> str | None:
    """The terms a web-search query excludes (``-X``, ``-"x y"``), as one query matching any
    of them; ``None`` when it excludes nothing."""
    terms = _NEGATED.findall(words_query(query_text))
    return " or ".join(terms) if terms else None


class RecipeSearchRepository:
    """Searches over one user's recipes that combine full-text and vector search."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._dim = settings.embedding_dim
        self._ef_search = TunedEfSearch(settings)

    @idempotent_read
    async def hybrid_search(
        self,
        user_id: uuid.UUID,
        query_text: str,
        query_embedding: Any,
        *,
        limit: int = 20,
        exclude_recipe_ids: Sequence[uuid.UUID] | None = None,
        distance_threshold: float = 0.8,
        ef_search: int | None = None,
    ) -> list[HybridHitOut]:
        """The user's recipes that best match ``query_text`` (web-search syntax: words,
        "phrases", -excluded; ``without X`` too) and ``query_embedding`` (the same text
        embedded), fused by reciprocal rank fusion, best first.

        ``exclude_recipe_ids`` are never returned; a missing or inactive user gets ``[]``
        (as from a user-scoped similarity search). ``ef_search`` defaults to the tuned value
        of similarity search. Bad input is InvalidInputError.
        """
        query = parse(
            HybridQuery,
            {
                "user_id": user_id,
                "query_text": query_text,
                "limit": limit,
                "exclude_recipe_ids": [] if exclude_recipe_ids is None else exclude_recipe_ids,
                "distance_threshold": distance_threshold,
                "ef_search": ef_search,
            },
        )
        params: dict[str, Any] = {
            "words": words_query(query.query_text),
            "embedding": as_vector(query_embedding, self._dim, field="query_embedding"),
            "user_id": query.user_id,
            "candidates": max(CANDIDATES, query.limit),
            "threshold": query.distance_threshold,
            "k": RRF_K,
            "limit": query.limit,
        }
        sql = _statement(query, params)
        async with self._db.read_transaction() as session:
            ef = query.ef_search or await self._ef_search.current(session)
            plan = SearchPlan(HYBRID_SETTINGS, {"ef_search": str(ef)}, sql, params, query.limit)
            rows = await send_pipelined(await driver_connection(session), plan, params)
        return [_hit(row) for row in rows]


def _statement(query: HybridQuery, params: dict[str, Any]) -> str:
    parts = {"recipe_filter": "", "embedding_filter": "", "meaning_join": "", "meaning_filter": ""}
    if query.exclude_recipe_ids:
        params["excluded"] = list(query.exclude_recipe_ids)
        parts["recipe_filter"] = " AND r.id <> ALL(%(excluded)s)"
        parts["embedding_filter"] = " AND e.recipe_id <> ALL(%(excluded)s)"
    negated = excluded_terms(query.query_text)
    if negated is not None:
        params["negated"] = negated
        parts["meaning_join"] = "\n      JOIN recipes AS r ON r.id = n.recipe_id"
        parts["meaning_filter"] = (
            " AND NOT r.search_vector @@ websearch_to_tsquery('english', %(negated)s)"
        )
    return HYBRID.format(**parts)


def _hit(row: Sequence[Any]) -> HybridHitOut:
    score, text_rank, vector_rank, distance, *summary = row
    return HybridHitOut(
        recipe=RecipeSummaryOut.model_validate(dict(zip(SUMMARY_COLUMNS, summary, strict=True))),
        score=float(score),
        text_rank=text_rank,
        vector_rank=vector_rank,
        distance=None if distance is None else float(distance),
    )
