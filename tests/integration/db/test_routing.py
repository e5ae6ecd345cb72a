"""Read/write routing against a real primary with two streaming standbys.

Every read reports where it ran (``inet_server_port()``), so each test proves which server
served it rather than inferring it from timings.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from datalayer.db import Database, consistency_scope
from datalayer.errors import UnavailableError
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings, load_settings
from tests import factories
from tests.services import ReplicaHarness

# Bounds for polling loops that wait for an asynchronous change (replay, a probe): they
# only keep a broken behaviour from hanging the test; no assertion is made about time.
_PATIENCE_S = 30.0


def _settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "database_pool_size": 3,
        "database_replica_probe_interval_s": 0.05,
        "database_replica_probe_timeout_s": 2.0,
        "database_replica_max_lag_s": 600.0,
        "database_read_your_writes_wait_s": 600.0,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def routed(
    harness: ReplicaHarness, url: str, standbys: list[int], **overrides: Any
) -> AsyncIterator[Database]:
    name = url.rsplit("/", 1)[1]
    db = Database.connect(
        url,
        _settings(url, **overrides),
        read_urls=[harness.replica_url(index, name) for index in standbys],
    )
    try:
        yield db
    finally:
        await db.dispose()


async def served_by(db: Database) -> tuple[bool, int]:
    """(in recovery, port) of the server that served a read transaction."""
    async with db.read_transaction() as session:
        row = (await session.execute(text("SELECT pg_is_in_recovery(), inet_server_port()"))).one()
    return bool(row[0]), int(row[1])


async def read_until(db: Database, wanted: Any, description: str) -> int:
    """Read (each time in a fresh scope) until the serving port satisfies ``wanted``."""
    deadline = time.monotonic() + _PATIENCE_S
    reads = 0
    while True:
        with consistency_scope():
            _, port = await served_by(db)
        reads += 1
        if wanted(port):
            return reads
        assert time.monotonic() < deadline, f"never {description} after {reads} reads"
        await asyncio.sleep(0.01)


@contextmanager
def replay_paused(harness: ReplicaHarness, *standbys: int) -> Iterator[None]:
    for index in standbys:
        harness.pause_replay(index)
    try:
        yield
    finally:
        for index in standbys:
            harness.resume_replay(index)


async def test_reads_without_writes_go_to_a_replica(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0]) as db:
        with consistency_scope():
            for _ in range(5):
                assert await served_by(db) == (True, replicated.port(0))


async def test_reads_inside_a_write_transaction_go_to_the_primary(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0]) as db:
        with consistency_scope():
            async with db.transaction():
                assert await served_by(db) == (False, replicated.primary_port())


async def test_create_then_get_sees_the_row_while_replay_is_paused(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    iterations = 100
    async with routed(replicated, replicated_database, [0, 1]) as db:
        users = UserRepository(db, _settings(replicated_database))
        with replay_paused(replicated, 0, 1):
            missing = []
            for _ in range(iterations):
                async with consistency_scope():
                    name = factories.unique("ryw")
                    created = await users.create_user(
                        {"username": name, "email": f"{name}@example.com"}
                    )
                    if await users.find_user_by_id(created.id) is None:
                        missing.append(created.id)
            # The replicas really are behind: a fresh scope reads a replica without the row.
            async with consistency_scope():
                assert (await served_by(db))[0] is True
                assert await users.find_user_by_id(created.id) is None
        assert missing == [], f"{len(missing)} of {iterations} reads missed their own write"


async def test_read_your_writes_holds_for_one_call_chain_without_a_scope(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0]) as db:
        users = UserRepository(db, _settings(replicated_database))

        async def create_then_get() -> bool:
            name = factories.unique("chain")
            created = await users.create_user({"username": name, "email": f"{name}@example.com"})
            return await users.find_user_by_id(created.id) is not None

        async def unrelated_read() -> tuple[bool, int]:
            return await served_by(db)

        with replay_paused(replicated, 0):
            # Each task runs in a copy of the context: no explicit scope anywhere.
            assert await asyncio.create_task(create_then_get()) is True
            assert await asyncio.create_task(unrelated_read()) == (True, replicated.port(0))


async def test_reads_return_to_the_replica_once_it_replayed_the_write(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0]) as db, consistency_scope():
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE routing_probe (id int)"))
        assert await served_by(db) == (False, replicated.primary_port())
        replicated.wait_for_replay()
        deadline = time.monotonic() + _PATIENCE_S
        while (await served_by(db))[1] != replicated.port(0):
            assert time.monotonic() < deadline, "reads stayed on the primary after replay"
            await asyncio.sleep(0.01)


async def test_read_your_writes_ends_after_the_wait_bound(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(
        replicated, replicated_database, [0], database_read_your_writes_wait_s=0.2
    ) as db:
        with replay_paused(replicated, 0):
            async with consistency_scope():
                async with db.transaction() as session:
                    await session.execute(text("CREATE TABLE routing_probe (id int)"))
                assert await served_by(db) == (False, replicated.primary_port())
                deadline = time.monotonic() + _PATIENCE_S
                # The replica has not replayed the write, yet after the bound it serves again.
                while (await served_by(db))[1] != replicated.port(0):
                    assert time.monotonic() < deadline, "reads never left the primary"
                    await asyncio.sleep(0.01)


async def test_reads_spread_over_the_replicas(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0, 1]) as db:
        with consistency_scope():
            ports = Counter([(await served_by(db))[1] for _ in range(40)])
    assert set(ports) == {replicated.port(0), replicated.port(1)}
    assert min(ports.values()) >= 10, ports


async def test_a_lagging_replica_serves_no_reads_until_it_catches_up(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [0], database_replica_max_lag_s=0.3) as db:
        await read_until(db, lambda port: port == replicated.port(0), "on the replica")
        with replay_paused(replicated, 0):
            # A write in another scope: what follows is not read-your-writes at work.
            async with consistency_scope(), db.transaction() as session:
                await session.execute(text("CREATE TABLE routing_probe (id int)"))
            await read_until(db, lambda port: port == replicated.primary_port(), "on the primary")
            status = db.routing.statuses()[0]
            assert status.reachable and not status.serving_reads
            assert status.lag_s is not None and status.lag_s > 0.3
        await read_until(db, lambda port: port == replicated.port(0), "back on the replica")


async def test_replica_stopped_mid_workload_fails_no_read(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(replicated, replicated_database, [1]) as db:
        served: list[int] = []
        failures: list[BaseException] = []

        async def workload(reads: int) -> None:
            for _ in range(reads):
                try:
                    with consistency_scope():
                        served.append((await served_by(db))[1])
                except Exception as exc:
                    failures.append(exc)

        await workload(20)
        assert set(served) == {replicated.port(1)}
        # Stopped between two reads: the pool still holds connections to the dead server.
        replicated.stop_standby(1)
        try:
            served.clear()
            await workload(50)
            assert set(served) == {replicated.primary_port()}
        finally:
            replicated.start_standby(1)
        await read_until(db, lambda port: port == replicated.port(1), "back on the replica")
        assert failures == []


async def test_a_replica_lost_during_a_read_is_left_at_once(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with routed(
        replicated, replicated_database, [1], database_replica_probe_interval_s=600.0
    ) as db:
        try:
            with pytest.raises(UnavailableError):
                async with db.read_transaction() as session:
                    await session.execute(text("SELECT 1"))
                    replicated.stop_standby(1)  # terminates this transaction's backend
                    await session.execute(text("SELECT 1"))
            # No probe runs for ten minutes: the failed read itself took the replica out.
            assert db.routing.statuses()[0].reachable is False
            assert await served_by(db) == (False, replicated.primary_port())
        finally:
            replicated.start_standby(1)
