"""The audit log's hash chain: intact after real writes, and the first broken link found."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from datalayer.audit import verify_chain
from datalayer.db import Database
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings


async def write_audited(db: Database, settings: Settings, count: int) -> None:
    users = UserRepository(db, settings)
    for index in range(count):
        user = await users.create_user({"username": f"chain{index}", "email": f"c{index}@e.com"})
        await users.update_user(user.id, {"preferences": {"diet": "any"}})


async def verify(db: Database, key: str) -> tuple[int, int | None, str | None]:
    async with db.write_engine.connect() as connection:
        report = await verify_chain(connection, key)
    return report.rows_checked, report.first_broken_id, report.problem


async def tamper(db: Database, statement: str) -> None:
    """What an attacker with table-owner rights could do: bypass the append-only triggers."""
    async with db.transaction() as session:
        await session.execute(text("ALTER TABLE audit_logs DISABLE TRIGGER USER"))
        await session.execute(text(statement))
        await session.execute(text("ALTER TABLE audit_logs ENABLE TRIGGER USER"))


async def ids(db: Database) -> list[int]:
    async with db.write_engine.connect() as connection:
        return list(
            (await connection.execute(text("SELECT id FROM audit_logs ORDER BY id"))).scalars()
        )


async def test_chain_of_real_writes_is_intact(db: Database, settings: Settings) -> None:
    await write_audited(db, settings, 3)
    key = settings.audit_hash_key.get_secret_value()
    assert await verify(db, key) == (6, None, None)


async def test_concurrent_writers_keep_one_chain(db: Database, settings: Settings) -> None:
    users = UserRepository(db, settings)
    await asyncio.gather(
        *(users.create_user({"username": f"par{i}", "email": f"p{i}@e.com"}) for i in range(12))
    )
    assert await verify(db, settings.audit_hash_key.get_secret_value()) == (12, None, None)


async def test_a_changed_row_is_the_first_broken_link(db: Database, settings: Settings) -> None:
    await write_audited(db, settings, 2)
    rows = await ids(db)
    await tamper(db, f"UPDATE audit_logs SET details = '{{}}' WHERE id = {rows[1]}")
    checked, broken, problem = await verify(db, settings.audit_hash_key.get_secret_value())
    assert (checked, broken) == (2, rows[1]) and "content" in str(problem)


async def test_a_removed_row_breaks_the_next_link(db: Database, settings: Settings) -> None:
    await write_audited(db, settings, 2)
    rows = await ids(db)
    await tamper(db, f"DELETE FROM audit_logs WHERE id = {rows[1]}")
    _, broken, problem = await verify(db, settings.audit_hash_key.get_secret_value())
    assert broken == rows[2] and "prev_hash" in str(problem)


async def test_without_the_key_no_link_verifies(db: Database, settings: Settings) -> None:
    await write_audited(db, settings, 1)
    rows = await ids(db)
    assert (await verify(db, "some-other-key-of-16+"))[1] == rows[0]
