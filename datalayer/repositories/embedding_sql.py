"""The SQL of :class:`datalayer.repositories.embeddings.EmbeddingRepository`.

Searches are sent through psycopg directly (``%(name)s`` placeholders), pipelined behind
their settings statement (:mod:`datalayer.repositories.similarity`).

A search reads a candidate pool (``candidates``), keeps recipes of active users within the
distance threshold (one primary-key probe of ``users`` per candidate), joins the recipe
summary when hydrated, and returns the first ``limit``. Every search returns at least one
row: the pool's size (``pool``), how many candidates were within the threshold (``near``),
and, when the pool came back short, how many rows the scope holds (``scope_rows``, counted
up to the pool size); a search that found nothing has ``recipe_id`` NULL. These feed the
at-risk verdict of :class:`~datalayer.schemas.embeddings.SearchResults`.

A user-scoped search carries both plans and runs one of them: a bounded index-only count of
the user's rows (``scope``) against a threshold that grows with the square root of the table
size (``plan``) gates an exact scan of the user's rows (small scopes) or an iterative HNSW
scan (large ones). The gates are one-time filters: the branch not taken is never executed.
"""

from __future__ import annotations

from datalayer.repositories.active_users import ACTIVE_USER_SQL

EXACT_SCAN_MIN_ROWS = 1000
EXACT_SCAN_ROWS_PER_SQRT = 10
"""A user owning fewer rows than ``max(EXACT_SCAN_MIN_ROWS, EXACT_SCAN_ROWS_PER_SQRT *
sqrt(table rows))`` is searched exactly. Exact costs grow with the user's rows, an iterative
HNSW scan with table rows / user's rows; measured on 100,000 rows they cross near 3,500."""

# enable_sort = off leaves the HNSW index as the only sort-free way to order candidates (an
# exact branch sorts either way). Each statement's plan is fixed by its text and these
# settings, so a prepared statement may skip planning: force_generic_plan.
SEARCH_SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %(ef_search)s, true), "
    "set_config('hnsw.iterative_scan', %(iterative_scan)s, true), "
    "set_config('enable_sort', 'off', true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true)"
)

_HNSW_POOL = """
    SELECT recipe_id, user_id, embedding <=> %(query)s AS distance
      FROM recipe_embeddings
     WHERE {filters}
     ORDER BY embedding <=> %(query)s
     LIMIT %(candidates)s"""

# OFFSET 0 keeps the distance a column of the subquery: no index offers that order, so the
# user's rows are read (user index) and sorted, and each distance is computed once.
_EXACT_POOL = """
    SELECT recipe_id, user_id, distance
      FROM (SELECT recipe_id, user_id, embedding <=> %(query)s AS distance
              FROM recipe_embeddings
             WHERE {filters}
            OFFSET 0) AS scoped
     ORDER BY distance
     LIMIT %(candidates)s"""

_SCOPED_PLAN = f"""
plan AS MATERIALIZED (
    SELECT greatest({EXACT_SCAN_MIN_ROWS},
                    ({EXACT_SCAN_ROWS_PER_SQRT} * sqrt(greatest(reltuples, 0)))::integer)
           AS exact_max
      FROM pg_class
     WHERE oid = 'recipe_embeddings'::regclass
), scope AS MATERIALIZED (
    SELECT count(*) < (SELECT exact_max FROM plan) AS exact
      FROM (SELECT FROM recipe_embeddings
             WHERE user_id = %(user_id)s
             LIMIT (SELECT exact_max FROM plan)) AS owned
), candidates AS MATERIALIZED (
    ({_EXACT_POOL.format(filters="{filters} AND (SELECT exact FROM scope)")})
    UNION ALL
    ({_HNSW_POOL.format(filters="{filters} AND NOT (SELECT exact FROM scope)")})
)"""

_GLOBAL_PLAN = f"""
candidates AS MATERIALIZED ({_HNSW_POOL}
)"""

# ORDER BY distance + 0: PostgreSQL 17+ would otherwise trust the CTE's (relaxed) order.
_SEARCH = f"""
WITH {{plan}}, found AS (
    SELECT c.recipe_id, c.distance{{columns}}
      FROM candidates AS c
      JOIN users AS u ON u.id = c.user_id{{joins}}
     WHERE c.distance <= %(threshold)s AND {ACTIVE_USER_SQL}
     ORDER BY c.distance + 0
     LIMIT %(limit)s
)
SELECT s.pool, s.near,
       CASE WHEN s.pool < %(candidates)s THEN
            (SELECT count(*) FROM (SELECT FROM recipe_embeddings
                                    WHERE {{filters}} LIMIT %(candidates)s) AS t)
       END AS scope_rows,
       {{exact}} AS exact,
       f.*
  FROM (SELECT count(*) AS pool, count(*) FILTER (WHERE distance <= %(threshold)s) AS near
          FROM candidates) AS s
  LEFT JOIN found AS f ON true
 ORDER BY f.distance
"""

SCOPED_SEARCH = _SEARCH.replace("{plan}", _SCOPED_PLAN.strip()).replace(
    "{exact}", "(SELECT exact FROM scope)"
)
GLOBAL_SEARCH = _SEARCH.replace("{plan}", _GLOBAL_PLAN.strip()).replace("{exact}", "false")
STATS_COLUMNS = 4  # pool, near, scope_rows, exact: then recipe_id, distance, summary columns

# The recipe summary of a hydrated search (RecipeSummaryOut's fields; id is the recipe_id).
SUMMARY_COLUMNS = (
    "id",
    "user_id",
    "title",
    "cuisine_type",
    "difficulty",
    "cooking_time_minutes",
    "servings",
    "tags",
)
HYDRATE_COLUMNS = "".join(f", r.{name} AS recipe_{name}" for name in SUMMARY_COLUMNS[1:])
HYDRATE_JOIN = "\n      JOIN recipes AS r ON r.id = c.recipe_id"

# Each query's candidate pool, best first, with whether the candidate may be returned; the
# repository keeps the first ``limit`` kept ones per query and judges the pool.
BATCH_SEARCH = f"""
SELECT q.ordinality - 1 AS query_index, c.recipe_id, c.distance,
       c.distance <= %(threshold)s AND {ACTIVE_USER_SQL} AS kept,
       (SELECT count(*) FROM (SELECT FROM recipe_embeddings LIMIT %(candidates)s) AS t)
  FROM unnest(CAST(%(queries)s AS vector[])) WITH ORDINALITY AS q(embedding, ordinality)
 CROSS JOIN LATERAL (
       SELECT e.recipe_id, e.user_id, e.embedding <=> q.embedding AS distance
         FROM recipe_embeddings AS e
        ORDER BY e.embedding <=> q.embedding
        LIMIT %(candidates)s
       ) AS c
  JOIN users AS u ON u.id = c.user_id
 ORDER BY q.ordinality, c.distance
"""

UPSERT = """
INSERT INTO recipe_embeddings
       (recipe_id, user_id, embedding, model, model_version, source_text_hash, is_stale)
SELECT r.id, r.user_id, :embedding, :model, :model_version, :source_text_hash, false
  FROM recipes AS r
 WHERE r.id = :recipe_id
    ON CONFLICT (recipe_id) DO UPDATE
   SET embedding = EXCLUDED.embedding,
       model = EXCLUDED.model,
       model_version = EXCLUDED.model_version,
       source_text_hash = EXCLUDED.source_text_hash,
       is_stale = false
RETURNING id
"""

NEEDS_EMBEDDING = """
SELECT r.id
  FROM recipes AS r
  LEFT JOIN recipe_embeddings AS e ON e.recipe_id = r.id
 WHERE e.id IS NULL OR e.is_stale OR e.model <> :model OR e.model_version <> :model_version
 ORDER BY r.created_at, r.id
 LIMIT :limit
"""

EMBEDDING_COLUMNS = (
    "id, recipe_id, user_id, embedding, model, model_version, source_text_hash, "
    "is_stale, created_at, updated_at"
)
