"""Writing to, and verifying, the append-only, hash-chained audit log.

Users appear only as ``subject_hash``: an HMAC-SHA256 of the user id under
``AUDIT_HASH_KEY``, so the log can be searched for a user while they exist and keeps nothing
that identifies them after erasure. Details name changed fields, never their values.

Each row also carries ``row_hash``: an HMAC over its own content and the previous row's
``row_hash`` (``prev_hash``). Changing, removing or inserting a row anywhere breaks every
later link, and without the key nobody can forge a consistent chain. Writers serialise on a
transaction-scoped advisory lock, so the chain follows the order of ``id``.

Retention: the maintenance role drops whole months older than seven years. A remaining row
whose predecessor was dropped keeps that predecessor's hash as ``prev_hash``; the drop
recorded those hashes in ``audit_log_retention.boundary_hashes``, and ``verify_chain``
accepts such a link as a start of the chain. Any other missing row still breaks it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from datalayer.models import AuditLog

GENESIS_HASH = "0" * 64
CHAIN_LOCK_KEY = 0x617564_6C6F67  # pg_advisory_xact_lock key: "audlog"
_CHAINED_FIELDS = ("occurred_at", "actor", "action", "entity_type", "entity_id", "subject_hash")


def subject_hash(user_id: uuid.UUID, key: str) -> str:
    return hmac.new(key.encode(), user_id.bytes, hashlib.sha256).hexdigest()


def chain_hash(key: str, prev_hash: str, row: Mapping[Any, Any]) -> str:
    """The HMAC of one audit row's content and its predecessor's hash."""
    occurred_at = row["occurred_at"]
    content = {name: row[name] for name in _CHAINED_FIELDS}
    content["occurred_at"] = occurred_at.astimezone(UTC).isoformat()
    content["details"] = row["details"]
    content["prev"] = prev_hash
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


class AuditTrail:
    """Adds chained audit rows to the caller's transaction (they commit or roll back with it)."""

    def __init__(self, key: str, actor: str = "datalayer") -> None:
        self._key = key
        self._actor = actor

    async def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        entity_type: str,
        entity_id: uuid.UUID | None = None,
        subject: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
        head = (
            await session.execute(
                text(
                    "SELECT now() AS occurred_at, "
                    "(SELECT row_hash FROM audit_logs ORDER BY id DESC LIMIT 1) AS prev_hash"
                )
            )
        ).one()
        row: dict[str, Any] = {
            "occurred_at": head.occurred_at,
            "actor": self._actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id) if entity_id else None,
            "subject_hash": subject_hash(subject, self._key) if subject else None,
            "details": details or {},
        }
        prev_hash = head.prev_hash or GENESIS_HASH
        row_hash = chain_hash(self._key, prev_hash, row)
        await session.execute(
            insert(AuditLog).values(**row, prev_hash=prev_hash, row_hash=row_hash)
        )


# Empty on a schema older than the retention table (e.g. a backup restored before migrating).
_HAS_RETENTION = text("SELECT to_regclass('audit_log_retention') IS NOT NULL")
_RETENTION_STARTS = text("SELECT unnest(boundary_hashes) FROM audit_log_retention")


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: rows checked and the first broken link, if any."""

    rows_checked: int
    first_broken_id: int | None = None
    problem: str | None = None
    # Links whose predecessor was dropped by retention (accepted as a start of the chain).
    retention_starts: int = 0

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


async def verify_chain(connection: AsyncConnection, key: str) -> ChainReport:
    """Recompute every link in ``id`` order; report the first row that does not match.

    A ``prev_hash`` that names a row dropped by retention (``audit_log_retention``) is taken
    as given: the chain restarts there.
    """
    dropped: set[str] = set()
    if (await connection.execute(_HAS_RETENTION)).scalar_one():
        dropped = set((await connection.execute(_RETENTION_STARTS)).scalars())
    result = await connection.stream(
        text(
            "SELECT id, occurred_at, actor, action, entity_type, entity_id, subject_hash, "
            "details, prev_hash, row_hash FROM audit_logs ORDER BY id"
        )
    )
    expected_prev = GENESIS_HASH
    checked = restarts = 0
    async for record in result:
        row = record._mapping
        checked += 1
        if row["prev_hash"] != expected_prev:
            if row["prev_hash"] not in dropped:
                problem = "a row before it was removed or changed (prev_hash does not match)"
                return ChainReport(checked, row["id"], problem, restarts)
            restarts += 1
        if chain_hash(key, row["prev_hash"], row) != row["row_hash"]:
            return ChainReport(checked, row["id"], "its content was changed (row_hash)", restarts)
        expected_prev = row["row_hash"]
    return ChainReport(checked, retention_starts=restarts)
