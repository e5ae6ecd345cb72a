"""The SQL of :class:`datalayer.repositories.embeddings.EmbeddingRepository`.

Searches read candidates from the HNSW index in a MATERIALIZED CTE, then keep only recipes
of active users (one primary-key probe of ``users`` per candidate) and, when hydrated, join
the recipe summary. ``ORDER BY distance + 0`` makes PostgreSQL 17+ re-sort relaxed-order
candidates instead of trusting the CTE's order.
"""

from __future__ import annotations

from datalayer.repositories.active_users import ACTIVE_USER_SQL

SEARCH = f"""
WITH candidates AS MATERIALIZED (
    SELECT recipe_id, user_id, embedding <=> :query AS distance
      FROM recipe_embeddings
     WHERE {{filters}}
     ORDER BY embedding <=> :query
     LIMIT :candidates
)
SELECT c.recipe_id, c.distance{{columns}}
  FROM candidates AS c
  JOIN users AS u ON u.id = c.user_id{{joins}}
 WHERE c.distance <= :threshold AND {ACTIVE_USER_SQL}
 ORDER BY c.distance + 0
 LIMIT :limit
"""

# The recipe summary of a hydrated search (RecipeSummaryOut's fields).
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
HYDRATE_COLUMNS = "".join(f", r.{name} AS recipe_{name}" for name in SUMMARY_COLUMNS)
HYDRATE_JOIN = "\n  JOIN recipes AS r ON r.id = c.recipe_id"

BATCH_SEARCH = f"""
SELECT q.ordinality - 1 AS query_index, c.recipe_id, c.distance
  FROM unnest(CAST(:queries AS vector[])) WITH ORDINALITY AS q(embedding, ordinality)
 CROSS JOIN LATERAL (
       SELECT e.recipe_id, e.user_id, e.embedding <=> q.embedding AS distance
         FROM recipe_embeddings AS e
        ORDER BY e.embedding <=> q.embedding
        LIMIT :limit
       ) AS c
  JOIN users AS u ON u.id = c.user_id
 WHERE c.distance <= :threshold AND {ACTIVE_USER_SQL}
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
