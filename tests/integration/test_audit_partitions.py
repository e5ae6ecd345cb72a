"""Audit retention: monthly partitions, dropped only by the maintenance role after 7 years.

The application role keeps SELECT and INSERT only (privileges checked, not just triggers);
dropping expired months leaves a chain that ``verify_chain`` still proves intact, while any
other missing row is still reported.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from datalayer.audit import GENESIS_HASH, AuditTrail, chain_hash, verify_chain
from datalayer.db import Database
from datalayer.errors import PermissionDeniedError
from datalayer.migrations import runner
from datalayer.settings import Settings

MAINTENANCE = "recipe_maintenance"
FUNCTIONS = ("ensure_audit_log_partitions(integer, date)", "drop_expired_audit_log_partitions()")
REVISIONS = runner.revisions()
BEFORE_PARTITIONS = REVISIONS[REVISIONS.index("0004") - 1]


def partitions(connection: psycopg.Connection[Any]) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_logs'::regclass ORDER BY 1"
        )
    ]


def test_every_partition_is_closed_to_the_app_and_refuses_truncate(
    database_url: str, settings: Settings
) -> None:
    app = settings.database_app_role
    with psycopg.connect(database_url) as connection:
        names = partitions(connection)
        assert len(names) == 13  # this month and twelve ahead
        for table in ["audit_logs", *names]:
            for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                allowed = connection.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (app, table, privilege)
                ).fetchone()
                assert allowed == (False,), (table, privilege)
        truncate_triggers = {
            row[0]
            for row in connection.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgtype & 32 <> 0 AND t.tgname LIKE 'trg_audit_logs%%no_truncate'"
            )
        }
        assert truncate_triggers == {"audit_logs", *names}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute(f"TRUNCATE {names[0]}")  # as the owner: the trigger stops it


def test_only_the_maintenance_role_may_run_the_retention_functions(
    database_url: str, settings: Settings
) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        login = connection.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (MAINTENANCE,)
        ).fetchone()
        assert login == (False,)
        for function in FUNCTIONS:
            for role, expected in ((MAINTENANCE, True), (settings.database_app_role, False)):
                allowed = connection.execute(
                    "SELECT has_function_privilege(%s, %s, 'EXECUTE')", (role, function)
                ).fetchone()
                assert allowed == (expected,), (role, function)
        connection.execute(f"SET ROLE {settings.database_app_role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("SELECT drop_expired_audit_log_partitions()")


async def insert_chained(db: Database, key: str, moments: list[datetime]) -> list[str]:
    """Rows at given times, chained as AuditTrail would chain them; returns their hashes."""
    hashes = []
    async with db.transaction() as session:
        prev = (
            await session.execute(text("SELECT row_hash FROM audit_logs ORDER BY id DESC LIMIT 1"))
        ).scalar() or GENESIS_HASH
        for moment in moments:
            row = {
                "occurred_at": moment,
                "actor": "test",
                "action": "user.viewed",
                "entity_type": "user",
                "entity_id": None,
                "subject_hash": None,
                "details": {},
            }
            row_hash = chain_hash(key, prev, row)
            await session.execute(
                text(
                    "INSERT INTO audit_logs (occurred_at, actor, action, entity_type, "
                    "details, prev_hash, row_hash) VALUES (:occurred_at, :actor, :action, "
                    ":entity_type, '{}', :prev, :hash)"
                ),
                {**row, "prev": prev, "hash": row_hash},
            )
            hashes.append(row_hash)
            prev = row_hash
    return hashes


def expired_months(since: tuple[int, int], now: datetime) -> list[str]:
    """Partition names from ``since`` whose month ended at least seven years before ``now``."""
    cutoff = now.replace(year=now.year - 7, day=min(now.day, 28))
    names: list[str] = []
    year, month = since
    while True:
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        if datetime(next_year, next_month, 1, tzinfo=UTC) > cutoff:
            return names
        names.append(f"audit_logs_{year:04d}{month:02d}")
        year, month = next_year, next_month


async def test_dropping_expired_months_keeps_the_chain_verifiable(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    now = datetime.now(UTC)
    old = [datetime(2018, 1, 10, tzinfo=UTC), datetime(2018, 2, 10, tzinfo=UTC)]
    async with db.transaction() as session:
        await session.execute(text(f"SET LOCAL ROLE {MAINTENANCE}"))
        await session.execute(text("SELECT ensure_audit_log_partitions(12, '2018-01-01')"))
    hashes = await insert_chained(db, key, [*old, datetime(now.year - 1, 6, 1, tzinfo=UTC)])
    async with db.transaction() as session:
        await AuditTrail(key).record(session, "user.viewed", entity_type="user")

    async with db.write_engine.connect() as connection:
        before = await verify_chain(connection, key)
    assert (before.rows_checked, before.intact, before.retention_starts) == (4, True, 0)

    async with db.transaction() as session:
        await session.execute(text(f"SET LOCAL ROLE {MAINTENANCE}"))
        dropped = list(
            (await session.execute(text("SELECT drop_expired_audit_log_partitions()"))).scalars()
        )
    assert dropped == expired_months(since=(2018, 1), now=now)

    async with db.write_engine.connect() as connection:
        after = await verify_chain(connection, key)
        record = (
            await connection.execute(
                text(
                    "SELECT rows_dropped, boundary_hashes FROM audit_log_retention "
                    "WHERE partition_name = 'audit_logs_201802'"
                )
            )
        ).one()
    assert (after.rows_checked, after.intact, after.retention_starts) == (2, True, 1)
    assert (record.rows_dropped, record.boundary_hashes) == (1, [hashes[1]])

    # Retention accepts only the recorded start: losing the oldest remaining row is reported.
    async with db.transaction() as session:
        await session.execute(text("ALTER TABLE audit_logs DISABLE TRIGGER USER"))
        await session.execute(text("DELETE FROM audit_logs WHERE row_hash = :h"), {"h": hashes[2]})
        await session.execute(text("ALTER TABLE audit_logs ENABLE TRIGGER USER"))
    async with db.write_engine.connect() as connection:
        tampered = await verify_chain(connection, key)
    assert (tampered.rows_checked, tampered.intact) == (1, False)


async def test_the_app_role_cannot_drop_or_detach(db: Database, settings: Settings) -> None:
    with pytest.raises(PermissionDeniedError):
        async with db.transaction() as session:
            await session.execute(text(f"SET LOCAL ROLE {settings.database_app_role}"))
            await session.execute(text("SELECT drop_expired_audit_log_partitions()"))
    async with db.write_engine.connect() as connection:
        month = (await connection.execute(text("SELECT to_char(now(), 'YYYYMM')"))).scalar_one()
    with pytest.raises(PermissionDeniedError):
        async with db.transaction() as session:
            await session.execute(text(f"SET LOCAL ROLE {settings.database_app_role}"))
            await session.execute(
                text(f"ALTER TABLE audit_logs DETACH PARTITION audit_logs_{month}")
            )


def test_upgrade_moves_rows_with_their_ids_and_the_chain_continues(
    empty_database_url: str, settings: Settings
) -> None:
    runner.upgrade(empty_database_url, BEFORE_PARTITIONS)
    key = settings.audit_hash_key.get_secret_value()

    async def write(count: int) -> None:
        database = Database.connect(empty_database_url, settings)
        try:
            for _ in range(count):
                async with database.transaction() as session:
                    await AuditTrail(key).record(session, "user.viewed", entity_type="user")
        finally:
            await database.dispose()

    async def verify() -> tuple[int, bool]:
        database = Database.connect(empty_database_url, settings)
        try:
            async with database.write_engine.connect() as connection:
                report = await verify_chain(connection, key)
        finally:
            await database.dispose()
        return report.rows_checked, report.intact

    def rows() -> list[tuple[Any, ...]]:
        with psycopg.connect(empty_database_url) as connection:
            return connection.execute(
                "SELECT id, occurred_at, row_hash FROM audit_logs ORDER BY id"
            ).fetchall()

    asyncio.run(write(3))
    with psycopg.connect(empty_database_url, autocommit=True) as connection:
        # A gap in the identity (a rolled-back insert) must survive the move.
        connection.execute("SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))")
    asyncio.run(write(1))
    original = rows()
    assert [row[0] for row in original] == [1, 2, 3, 5]

    runner.upgrade(empty_database_url)
    assert rows() == original
    asyncio.run(write(1))
    assert rows()[-1][0] == 6
    assert asyncio.run(verify()) == (5, True)

    runner.downgrade(empty_database_url, BEFORE_PARTITIONS)
    assert rows()[:-1] == original
    asyncio.run(write(1))
    assert [row[0] for row in rows()][-2:] == [6, 7]
    assert asyncio.run(verify()) == (6, True)
    with psycopg.connect(empty_database_url) as connection:
        kind = connection.execute(
            "SELECT relkind FROM pg_class WHERE oid = 'audit_logs'::regclass"
        ).fetchone()
    assert kind == ("r",)
