"""Migration 0007: embeddings are stored inline in the row (no TOAST), and the downgrade
puts pgvector's default (out of line) back."""

from __future__ import annotations

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from datalayer.migrations import runner

STORAGE_REVISION = "0007"
PREVIOUS = runner.revisions()[runner.revisions().index(STORAGE_REVISION) - 1]
FROM_STORAGE = runner.revisions()[runner.revisions().index(STORAGE_REVISION) :]
"""This revision and every later one: a downgrade below it undoes them all."""


def store_one_and_count_toasted(url: str) -> tuple[str, int]:
    """The column's storage, and how many TOAST chunks the table holds after one insert."""
    with psycopg.connect(url) as connection:
        register_vector(connection)
        connection.execute("DELETE FROM recipe_embeddings")
        user = connection.execute(
            "INSERT INTO users (username, email) VALUES ('storage', 'storage@example.com') "
            "ON CONFLICT (username) DO UPDATE SET email = EXCLUDED.email RETURNING id"
        ).fetchone()
        assert user is not None
        recipe = connection.execute(
            "INSERT INTO recipes (user_id, title, content_hash) VALUES (%s, 'Soup', %s) "
            "RETURNING id",
            (user[0], "0" * 64),
        ).fetchone()
        assert recipe is not None
        vector = np.random.default_rng(1).random(1536).astype(np.float32)
        connection.execute(
            "INSERT INTO recipe_embeddings (recipe_id, user_id, embedding, model, "
            "model_version, source_text_hash) VALUES (%s, %s, %s, 'm', '1', %s)",
            (recipe[0], user[0], vector, "0" * 64),
        )
        storage, toast = connection.execute(
            "SELECT a.attstorage, c.reltoastrelid::regclass::text FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = 'recipe_embeddings' AND a.attname = 'embedding'"
        ).fetchone()  # type: ignore[misc]
        chunks = connection.execute(f"SELECT count(*) FROM {toast}").fetchone()
        stored = connection.execute("SELECT embedding FROM recipe_embeddings").fetchone()
        assert stored is not None and np.array_equal(stored[0].to_numpy(), vector)
        connection.commit()
    assert chunks is not None
    return str(storage), int(chunks[0])


def test_embeddings_are_stored_inline_and_the_downgrade_restores_toast(
    database_url: str,
) -> None:
    assert store_one_and_count_toasted(database_url) == ("p", 0)
    assert runner.downgrade(database_url, PREVIOUS) == FROM_STORAGE[::-1]
    storage, chunks = store_one_and_count_toasted(database_url)
    assert (storage, chunks > 0) == ("e", True)  # a 6 KB vector goes out of line again
    assert runner.upgrade(database_url) == FROM_STORAGE
    assert runner.check(database_url) == []
