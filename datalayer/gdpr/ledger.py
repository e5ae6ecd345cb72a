"""Re-applying erasures to a restored database, so a backup never brings a person back.

The ledger holds keyed subject hashes only, so finding the people in a restored copy means
hashing its user ids with the same key and matching. Pass the ledger of the live database
(the restored copy's own ledger is older than the backup); every match is erased with the
normal, verified erasure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.gdpr.erasure import ErasureResult, erase_user


async def ledger_subjects(connection: AsyncConnection) -> set[str]:
    """Every subject hash in this database's ledger (open or completed erasures)."""
    rows = await connection.execute(text("SELECT subject_hash FROM erasure_ledger"))
    return {row[0] for row in rows}


async def subjects_present(
    connection: AsyncConnection, subjects: Iterable[str], audit_key: str
) -> list[uuid.UUID]:
    """The ids of users in this database whose subject hash is in ``subjects``."""
    wanted = set(subjects)
    if not wanted:
        return []
    found = []
    result = await connection.stream(text("SELECT id FROM users ORDER BY id"))
    async for (user_id,) in result:
        if subject_hash(user_id, audit_key) in wanted:
            found.append(user_id)
    return found


async def reapply_ledger(
    db: Database, subjects: Iterable[str], audit_key: str, *, batch_size: int = 1000
) -> list[ErasureResult]:
    """Erase everyone in ``subjects`` who is present in ``db``; returns one result each."""
    async with db.write_engine.connect() as connection:
        present = await subjects_present(connection, subjects, audit_key)
    return [await erase_user(db, user_id, audit_key, batch_size=batch_size) for user_id in present]
