"""The audit log is append-only in the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import PermissionDeniedError
from datalayer.models import AuditLog
from datalayer.settings import Settings

STATEMENTS = {
    "update": "UPDATE audit_logs SET action = 'tampered'",
    "delete": "DELETE FROM audit_logs",
    "truncate": "TRUNCATE audit_logs",
}


async def add_entry(db: Database) -> None:
    async with db.transaction() as session:
        session.add(AuditLog(action="user.updated", entity_type="user", entity_id="1"))


async def entries(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list((await session.execute(text("SELECT action FROM audit_logs"))).scalars())


@pytest.mark.parametrize("operation", sorted(STATEMENTS))
async def test_owner_cannot_change_the_audit_log(db: Database, operation: str) -> None:
    await add_entry(db)
    with pytest.raises(PermissionDeniedError, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text(STATEMENTS[operation]))
    assert await entries(db) == ["user.updated"]


async def test_app_role_holds_only_select_and_insert(db: Database, settings: Settings) -> None:
    # The privilege itself, not the trigger (which rejects every role, the owner included).
    async with db.transaction() as session:
        granted = {
            privilege: (
                await session.execute(
                    text("SELECT has_table_privilege(:role, 'audit_logs', :privilege)"),
                    {"role": settings.database_app_role, "privilege": privilege},
                )
            ).scalar_one()
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
    assert granted == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
    }


@pytest.mark.parametrize("operation", sorted(STATEMENTS))
async def test_app_role_is_refused_before_any_trigger_runs(
    db: Database, settings: Settings, operation: str
) -> None:
    await add_entry(db)
    # The privilege check's own message; the trigger's would say "append-only".
    with pytest.raises(PermissionDeniedError, match=r"^permission denied for table audit_logs$"):
        async with db.transaction() as session:
            await session.execute(text(f"SET LOCAL ROLE {settings.database_app_role}"))
            await session.execute(text(STATEMENTS[operation]))
    assert await entries(db) == ["user.updated"]


async def test_app_role_can_append_and_read(db: Database, settings: Settings) -> None:
    async with db.transaction() as session:
        await session.execute(text(f"SET LOCAL ROLE {settings.database_app_role}"))
        session.add(AuditLog(action="recipe.created", entity_type="recipe"))
        await session.flush()
        actions = (await session.execute(text("SELECT action FROM audit_logs"))).scalars().all()
    assert actions == ["recipe.created"]


async def test_app_role_cannot_touch_the_migration_tables(db: Database, settings: Settings) -> None:
    with pytest.raises(PermissionDeniedError):
        async with db.transaction() as session:
            await session.execute(text(f"SET LOCAL ROLE {settings.database_app_role}"))
            await session.execute(text("DELETE FROM alembic_version"))
