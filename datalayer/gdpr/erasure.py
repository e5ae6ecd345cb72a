"""Erasure of a person: every owned row, in bounded transactions, resumable and verified.

The steps, each its own short transaction:

1. the ledger gets (or keeps) an entry for the subject hash, and the account is made
   inactive, so nothing new is created for them while the erasure runs;
2. the owned tables, children before parents (:meth:`Inventory.deletion_order`), lose the
   subject's rows ``batch_size`` at a time, so a heavy user never holds long locks (with the
   deletion request set, removing ingredient lines does not rewrite the recipes' search text
   first: migration 0006);
3. the ``users`` row goes (its cascades catch anything created meanwhile);
4. every owned table is scanned for the subject: zero rows is the proof, and the ledger
   entry is completed with the counts.

Killed at any point and run again, it continues from what is left and ends in the same
state. The audit log keeps only pseudonymous rows (the keyed subject hash).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from datalayer.audit import AuditTrail, subject_hash
from datalayer.cache import CacheKey, keys
from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.gdpr.inventory import ROOT_TABLE, Inventory, load_inventory
from datalayer.repositories.caching import invalidations
from datalayer.repositories.recipes import search_key as recipe_search_key

DEFAULT_BATCH_SIZE = 1000
Checkpoint = Callable[[str], None]


@dataclass(frozen=True)
class ErasureResult:
    """What one run did, and the verification that nothing is left."""

    subject_hash: str
    rows_erased: dict[str, int]
    residual_rows: dict[str, int]

    @property
    def verified(self) -> bool:
        return not any(self.residual_rows.values())

    @property
    def total_erased(self) -> int:
        return sum(self.rows_erased.values())


async def erase_user(
    db: Database,
    user_id: uuid.UUID,
    audit_key: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint: Checkpoint | None = None,
) -> ErasureResult:
    """Erase ``user_id`` (or finish an interrupted erasure of them); returns the counts.

    Raises :class:`NotFoundError` when there is neither such a user nor an open erasure.
    ``checkpoint`` is called with a label inside each transaction and after each commit.
    """
    if not 1 <= batch_size <= 100_000:
        raise InvalidInputError("batch_size must be between 1 and 100000", field="batch_size")
    mark = checkpoint or (lambda label: None)
    subject = subject_hash(user_id, audit_key)
    audit = AuditTrail(audit_key, actor="gdpr.erasure")
    params = {"user_id": user_id, "subject": subject}

    async with db.transaction() as session:
        connection = await session.connection()
        inventory = await load_inventory(connection)
        exists = await connection.scalar(text("SELECT 1 FROM users WHERE id = :user_id"), params)
        ledger = await connection.scalar(
            text("SELECT completed_at IS NULL FROM erasure_ledger WHERE subject_hash = :subject"),
            params,
        )
        if exists is None and ledger is None:
            raise NotFoundError("user not found")
        await connection.execute(
            text(
                "INSERT INTO erasure_ledger (subject_hash) VALUES (:subject) "
                "ON CONFLICT (subject_hash) DO UPDATE SET completed_at = NULL, rows_erased = NULL"
            ),
            params,
        )
        await connection.execute(
            text(
                "UPDATE users SET is_active = false, "
                "deletion_requested_at = coalesce(deletion_requested_at, now()) "
                "WHERE id = :user_id"
            ),
            params,
        )
        # One array, not a row per recipe: this transaction holds the user's row lock.
        recipe_ids: list[uuid.UUID] = await connection.scalar(
            text("SELECT coalesce(array_agg(id), '{}') FROM recipes WHERE user_id = :user_id"),
            params,
        )
        _forget_in_cache(session, user_id, recipe_ids)
        await audit.record(session, "gdpr.erasure_started", entity_type="user", subject=user_id)
        mark("started")
    mark("started:committed")

    erased: dict[str, int] = {}
    for table in inventory.deletion_order():
        condition = table.ownership_condition("t")
        statement = text(
            f"DELETE FROM {table.name} WHERE ctid = ANY(ARRAY("
            f"SELECT t.ctid FROM {table.name} AS t WHERE {condition} LIMIT :batch))"
        )
        erased[table.name] = 0
        while True:
            async with db.transaction() as session:
                result = await session.execute(statement, {**params, "batch": batch_size})
                deleted = int(result.rowcount)  # type: ignore[attr-defined]
                mark(f"{table.name}:delete")
            mark(f"{table.name}:committed")
            erased[table.name] += deleted
            if deleted < batch_size or table.name == ROOT_TABLE:
                break

    residual = await verify_erasure(db, user_id, inventory=inventory)
    async with db.transaction() as session:
        if not any(residual.values()):
            await session.execute(
                text(
                    "UPDATE erasure_ledger SET completed_at = now(), rows_erased = :rows, "
                    "tables = CAST(:tables AS jsonb) WHERE subject_hash = :subject"
                ),
                {
                    **params,
                    "rows": sum(erased.values()),
                    "tables": json.dumps(erased, sort_keys=True),
                },
            )
        await audit.record(
            session,
            "gdpr.erasure_completed" if not any(residual.values()) else "gdpr.erasure_incomplete",
            entity_type="user",
            subject=user_id,
            details={"rows_erased": sum(erased.values()), "residual": sum(residual.values())},
        )
        _forget_in_cache(session, user_id, recipe_ids)
        mark("completed")
    if db.cache is not None:
        await db.cache.purge(
            _cache_entries(user_id, recipe_ids),
            name_prefixes=[
                keys.user_recipes(user_id, "").name,
                recipe_search_key(user_id, "").name,
            ],
        )
    return ErasureResult(subject_hash=subject, rows_erased=erased, residual_rows=residual)


async def verify_erasure(
    db: Database, user_id: uuid.UUID, *, inventory: Inventory | None = None
) -> dict[str, int]:
    """Rows still held about ``user_id`` in every owned table (all zero when erased)."""
    async with db.transaction() as session:
        connection = await session.connection()
        return await residual_rows(
            connection, user_id, inventory or await load_inventory(connection)
        )


async def residual_rows(
    connection: AsyncConnection, user_id: uuid.UUID, inventory: Inventory
) -> dict[str, int]:
    counts = [
        f"SELECT '{table.name}', count(*) FROM {table.name} AS t "
        f"WHERE {table.ownership_condition('t')}"
        for table in inventory.owned
    ]
    rows = await connection.execute(text(" UNION ALL ".join(counts)), {"user_id": user_id})
    return {name: int(count) for name, count in rows}


def _forget_in_cache(
    session: AsyncSession, user_id: uuid.UUID, recipe_ids: list[uuid.UUID]
) -> None:
    """Queue the invalidation of everything cached for the user and their recipes.

    Queued when the erasure starts (the user turns inactive) and again when it completes
    (after every row is gone), so no read in between can leave a copy behind.
    """
    pending = invalidations(session)
    if pending is None:
        return
    pending.user_updated(user_id)
    pending.taste_profile_updated(user_id)
    for recipe_id in recipe_ids:
        pending.recipe_updated(recipe_id, user_id)


def _cache_entries(user_id: uuid.UUID, recipe_ids: list[uuid.UUID]) -> list[CacheKey]:
    """The cache entries of the user whose names are known without their query variants."""
    entries = [keys.user_profile(user_id), keys.taste_profile(user_id)]
    for recipe_id in recipe_ids:
        entries += [
            keys.recipe_details(recipe_id),
            keys.recipe_embeddings(recipe_id),
            keys.parsed_ingredients(recipe_id),
        ]
    return entries
