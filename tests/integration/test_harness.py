"""The harness itself: real services on free ports, isolated databases per test."""

from __future__ import annotations

import psycopg
import redis

from datalayer.migrations import runner
from tests.services import PostgresHarness, RedisHarness


def test_redis_is_real_and_private(redis_server: RedisHarness) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=1)
    try:
        assert client.ping() is True
        client.set("harness:key", "value", ex=5)
        assert client.get("harness:key") == b"value"
        assert client.config_get("save") == {"save": ""}
    finally:
        client.close()


def test_each_test_gets_its_own_migrated_database(
    postgres: PostgresHarness, database_url: str
) -> None:
    other = postgres.create_database(migrated=True)
    try:
        with psycopg.connect(database_url, autocommit=True) as mine:
            mine.execute("INSERT INTO categories (name) VALUES ('only here')")
        with psycopg.connect(other) as theirs:
            assert theirs.execute("SELECT count(*) FROM categories").fetchone() == (0,)
            version = theirs.execute("SELECT version_num FROM alembic_version").fetchone()
            assert version == (runner.revisions()[-1],)
    finally:
        postgres.drop_database(other)


def test_postgres_has_pgvector_and_listens_on_loopback_only(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        version = connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        listen = connection.execute("SHOW listen_addresses").fetchone()
    assert version is not None and tuple(int(p) for p in version[0].split(".")[:2]) >= (0, 8)
    assert listen == ("127.0.0.1",)
