"""A pooled connection the server closed is replaced at checkout; a live one is kept.

The server ends the pooled connections' backends (``pg_terminate_backend``, or a restart
while the pool sits idle); the next writes must then succeed, since writes are never
retried.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.db.liveness import closed_by_server
from datalayer.settings import load_settings
from tests.services import RestartablePostgres


@pytest.fixture
async def small_pool(empty_database_url: str) -> AsyncIterator[Database]:
    settings = load_settings(
        database_url=empty_database_url, database_pool_size=1, database_max_overflow=0
    )
    database = Database.connect(empty_database_url, settings)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE writes (id integer PRIMARY KEY)"))
    yield database
    await database.dispose()


async def _backend_pid(database: Database) -> int:
    async with database.read_transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while await (
            await admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
        ).fetchone():
            assert time.monotonic() < deadline, "the backend did not exit"
            await asyncio.sleep(0.01)


async def test_a_write_after_the_server_closed_the_pooled_connection_succeeds(
    small_pool: Database, empty_database_url: str
) -> None:
    pid = await _backend_pid(small_pool)
    await _terminate(empty_database_url, pid)

    async with small_pool.transaction() as session:
        await session.execute(text("INSERT INTO writes (id) VALUES (1)"))

    assert await _backend_pid(small_pool) != pid
    async with small_pool.read_transaction() as session:
        assert (await session.execute(text("SELECT count(*) FROM writes"))).scalar_one() == 1


async def test_a_live_connection_with_unread_messages_is_kept(
    small_pool: Database, empty_database_url: str
) -> None:
    async with small_pool.read_transaction() as session:
        await session.execute(text("LISTEN datalayer_liveness"))
        pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as other:
        await other.execute("NOTIFY datalayer_liveness")
    await asyncio.sleep(0.1)  # the notification reaches the pooled connection's socket

    assert await _backend_pid(small_pool) == pid


async def test_closed_by_server_reads_without_waiting(empty_database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(empty_database_url) as connection:
        assert not closed_by_server(connection)
        pid = connection.info.backend_pid
        await _terminate(empty_database_url, pid)
        assert closed_by_server(connection)


async def test_writes_after_a_restart_of_an_idle_pool_succeed(
    restartable_postgres: RestartablePostgres,
) -> None:
    name = f"liveness_{uuid.uuid4().hex[:8]}"
    restartable_postgres.execute(f"CREATE DATABASE {name}")
    restartable_postgres.execute("CREATE TABLE writes (id integer PRIMARY KEY)", name)
    url = restartable_postgres.url(name)
    database = Database.connect(url, load_settings(database_url=url, database_pool_size=2))
    try:
        await asyncio.gather(_backend_pid(database), _backend_pid(database))  # two pooled
        await asyncio.to_thread(restartable_postgres.restart)

        async def write(row: int) -> None:
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO writes (id) VALUES (:id)"), {"id": row})

        await asyncio.gather(write(1), write(2))
    finally:
        await database.dispose()
        restartable_postgres.start_again()
        restartable_postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")


class LingeringCloseProxy:
    """A TCP proxy in front of PostgreSQL that passes every byte on but, when the server
    closes, keeps the client's side open for ``linger`` seconds: the FATAL goodbye arrives,
    the close does not (yet)."""

    def __init__(self, upstream_port: int, linger: float = 2.0) -> None:
        self.upstream_port = upstream_port
        self.linger = linger
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, linger: float) -> None:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
            await asyncio.sleep(linger)
            w.close()

        await asyncio.gather(
            pipe(client_r, server_w, 0), pipe(server_r, client_w, self.linger),
            return_exceptions=True,
        )  # fmt: skip

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_goodbye_ahead_of_the_close_counts_as_closed(empty_database_url: str) -> None:
    url = psycopg.conninfo.conninfo_to_dict(empty_database_url)
    proxy = LingeringCloseProxy(int(url["port"]))
    port = await proxy.start()
    try:
        proxied = psycopg.conninfo.make_conninfo(empty_database_url, host="127.0.0.1", port=port)
        async with await psycopg.AsyncConnection.connect(proxied) as connection:
            pid = connection.info.backend_pid
            await _terminate(empty_database_url, pid)
            await asyncio.sleep(0.2)  # the FATAL message has crossed the proxy; the close has not
            assert closed_by_server(connection)
    finally:
        await proxy.stop()
