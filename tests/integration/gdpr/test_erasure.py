"""Erasure: every owned row goes, in bounded steps, resumable after SIGKILL, and verified."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.export import collect_user_data
from datalayer.settings import Settings
from tests import factories
from tests.integration.gdpr.support import populated_user

ROOT = Path(__file__).resolve().parents[3]

# Runs one erasure and SIGKILLs itself at the given checkpoint (inside a transaction or
# just after a commit, depending on the checkpoint).
KILLER = """
import asyncio, os, signal, sys, uuid
from datalayer.db import Database
from datalayer.gdpr.erasure import erase_user
from datalayer.settings import load_settings

url, user_id, kill_at, key = sys.argv[1], uuid.UUID(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
seen = []

def checkpoint(label):
    seen.append(label)
    if len(seen) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

async def main():
    db = Database.connect(url, load_settings(database_url=url))
    try:
        await erase_user(db, user_id, key, batch_size=2, checkpoint=checkpoint)
    finally:
        await db.dispose()

asyncio.run(main())
"""


async def add_bulk(db: Database, graph: factories.Graph) -> None:
    """More rows than one batch in several tables, so erasure takes many steps."""
    make = factories.rows(graph)
    async with db.transaction() as session:
        for _ in range(4):
            recipe = factories.recipe(graph.user)
            session.add(recipe)
        for _ in range(5):
            session.add(make["messages"]())
            session.add(make["receipt_items"]())
            session.add(make["pantry_items"]())


async def owned_rows(db: Database, user_id: uuid.UUID, key: str) -> dict[str, int]:
    async with db.write_engine.connect() as connection:
        export = await collect_user_data(connection, user_id, key)
    return {name: count for name, count in export.manifest.tables.items() if name != "audit_logs"}


async def test_erasure_removes_every_owned_row_and_nothing_else(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    subject = await populated_user(db, key)
    await add_bulk(db, subject)
    other = await populated_user(db, key)
    async with db.write_engine.connect() as connection:
        before_other = (await collect_user_data(connection, other.user.id, key)).tables

    result = await erase_user(db, subject.user.id, key, batch_size=2)

    assert result.verified and result.total_erased > 30
    assert result.rows_erased["users"] == 1 and result.rows_erased["messages"] == 6
    assert set(await owned_rows(db, subject.user.id, key)) == set(result.residual_rows)
    assert not any((await owned_rows(db, subject.user.id, key)).values())
    async with db.write_engine.connect() as connection:
        after_other = (await collect_user_data(connection, other.user.id, key)).tables
        audit = (
            await connection.execute(
                text("SELECT action, details::text FROM audit_logs WHERE subject_hash = :s"),
                {"s": subject_hash(subject.user.id, key)},
            )
        ).all()
        ledger = (
            await connection.execute(text("SELECT subject_hash, rows_erased FROM erasure_ledger"))
        ).one()
    assert after_other == before_other
    actions = [row[0] for row in audit]
    assert actions[-2:] == ["gdpr.erasure_started", "gdpr.erasure_completed"]
    assert all(subject.user.email not in row[1] for row in audit)
    assert ledger == (subject_hash(subject.user.id, key), result.total_erased)


async def test_unknown_user_is_not_found_and_nothing_is_recorded(
    db: Database, settings: Settings
) -> None:
    with pytest.raises(NotFoundError):
        await erase_user(db, uuid.uuid4(), settings.audit_hash_key.get_secret_value())
    async with db.write_engine.connect() as connection:
        assert (await connection.scalar(text("SELECT count(*) FROM erasure_ledger"))) == 0


async def test_a_second_run_finds_nothing_left_and_stays_verified(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    subject = await populated_user(db, key)
    await erase_user(db, subject.user.id, key)
    again = await erase_user(db, subject.user.id, key)
    assert again.verified and again.total_erased == 0


@pytest.mark.slow
async def test_erasure_killed_at_any_step_finishes_on_rerun(
    db: Database, settings: Settings, database_url: str
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    probe = await populated_user(db, key)
    await add_bulk(db, probe)
    steps: list[str] = []
    await erase_user(db, probe.user.id, key, batch_size=2, checkpoint=steps.append)
    assert len(steps) > 40
    # 20 kill points spread over the whole run: inside transactions and after commits.
    kill_points = sorted({1 + (len(steps) - 1) * i // 19 for i in range(20)})
    assert len(kill_points) == 20
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kill_at in kill_points:
        subject = await populated_user(db, key)
        await add_bulk(db, subject)
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", KILLER, database_url, str(subject.user.id), str(kill_at), key),
            env=environment,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == -signal.SIGKILL, (kill_at, steps[kill_at - 1], stderr)
        result = await erase_user(db, subject.user.id, key, batch_size=2)
        assert result.verified, (kill_at, steps[kill_at - 1], result.residual_rows)
        assert not any((await owned_rows(db, subject.user.id, key)).values())
    async with db.write_engine.connect() as connection:
        open_entries = await connection.scalar(
            text("SELECT count(*) FROM erasure_ledger WHERE completed_at IS NULL")
        )
    assert open_entries == 0


async def test_ingredient_deletes_leave_the_search_text_of_an_owner_being_erased(
    db: Database,
) -> None:
    """One statement deletes ingredient lines of two owners: the active owner's recipe gets
    its search text rewritten, the recipe of the owner with a deletion request keeps it."""
    active, leaving = await factories.graph(db), await factories.graph(db)
    async with db.transaction() as session:
        for graph in (active, leaving):
            session.add(factories.rows(graph)["parsed_ingredients"](name="Basil leaves"))
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE users SET deletion_requested_at = now() WHERE id = :id"),
            {"id": leaving.user.id},
        )
        await session.execute(
            text("DELETE FROM parsed_ingredients WHERE recipe_id IN (:a, :b)"),
            {"a": active.recipe.id, "b": leaving.recipe.id},
        )
        rows = await session.execute(
            text("SELECT id, ingredient_names FROM recipes WHERE id IN (:a, :b)"),
            {"a": active.recipe.id, "b": leaving.recipe.id},
        )
        names = dict(rows.tuples().all())
    assert names == {active.recipe.id: "", leaving.recipe.id: "Basil leaves"}
