"""A restored copy that predates an erasure: the live ledger erases the person again."""

from __future__ import annotations

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.ledger import ledger_subjects, reapply_ledger, subjects_present
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user


async def test_ledger_reapplied_to_a_copy_erases_the_returning_person(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    erased_live = await populated_user(db, key)
    await erase_user(db, erased_live.user.id, key)
    async with db.write_engine.connect() as connection:
        live_ledger = await ledger_subjects(connection)
    assert live_ledger == {subject_hash(erased_live.user.id, key)}

    # The "restored copy": a database in which the same person still exists, because the
    # backup was taken before their erasure, and whose own ledger does not know it.
    returning = await populated_user(db, key)
    bystander = await populated_user(db, key)
    ledger = live_ledger | {subject_hash(returning.user.id, key)}

    async with db.write_engine.connect() as connection:
        assert await subjects_present(connection, ledger, key) == [returning.user.id]
    results = await reapply_ledger(db, ledger, key)

    assert [result.subject_hash for result in results] == [subject_hash(returning.user.id, key)]
    assert results[0].verified and results[0].rows_erased["users"] == 1
    async with db.write_engine.connect() as connection:
        assert await subjects_present(connection, ledger, key) == []
        assert await subjects_present(connection, {subject_hash(bystander.user.id, key)}, key) == [
            bystander.user.id
        ]


async def test_a_wrong_key_finds_no_one(db: Database, settings: Settings) -> None:
    key = settings.audit_hash_key.get_secret_value()
    person = await populated_user(db, key)
    async with db.write_engine.connect() as connection:
        found = await subjects_present(
            connection, {subject_hash(person.user.id, "another-key-entirely")}, key
        )
    assert found == []
