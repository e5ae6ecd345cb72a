"""Export: every owned table found from the foreign-key graph, nothing of anyone else."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

from datalayer import models as m
from datalayer.db import Database
from datalayer.gdpr.export import collect_user_data
from datalayer.gdpr.inventory import load_inventory
from datalayer.migrations import runner
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user, tables_linked_to_users


async def test_inventory_covers_every_table_linked_to_users(db: Database) -> None:
    async with db.write_engine.connect() as connection:
        inventory = await load_inventory(connection)
    linked = tables_linked_to_users(m.Base.metadata)
    # A table linked to users that is neither owned (cascading) nor a decided reference
    # must fail here, so that export and erasure never silently miss it.
    assert set(inventory.names) == linked
    assert inventory.references == []
    order = [table.name for table in inventory.deletion_order()]
    assert order.index("recipe_embeddings") < order.index("recipes") < order.index("users")
    assert order.index("messages") < order.index("conversations")


async def test_export_holds_every_owned_row_and_nothing_of_others(
    db: Database, settings: Settings, database_url: str
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    subject = await populated_user(db, key)
    other = await populated_user(db, key)
    async with db.write_engine.connect() as connection:
        export = await collect_user_data(connection, subject.user.id, key)

    linked = tables_linked_to_users(m.Base.metadata)
    assert set(export.tables) == linked | {"audit_logs"}
    assert all(export.tables[name] for name in export.tables), export.manifest.tables
    assert len(export.tables["audit_logs"]) == 2
    assert export.manifest.tables == {name: len(rows) for name, rows in export.tables.items()}
    assert export.manifest.schema_version == runner.status(database_url).head

    document = export.to_json()
    for foreign in (other.user.id, other.recipe.id, other.conversation.id, other.receipt.id):
        assert str(foreign) not in document.decode()
    assert export.tables["users"][0]["email"] == subject.user.email
    assert export.tables["recipes"][0]["id"] == str(subject.recipe.id)

    parsed = json.loads(document)
    recomputed = hashlib.sha256(
        json.dumps(parsed["data"], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    assert parsed["manifest"]["checksum_sha256"] == recomputed


async def test_csv_export_is_one_file_per_table_with_manifest(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    subject = await populated_user(db, key)
    async with db.write_engine.connect() as connection:
        export = await collect_user_data(connection, subject.user.id, key)
    archive = zipfile.ZipFile(io.BytesIO(export.to_csv_zip()))
    names = set(archive.namelist())
    assert names == {f"{table}.csv" for table in export.tables} | {"manifest.json"}
    manifest = json.loads(archive.read("manifest.json"))
    for table, count in manifest["tables"].items():
        rows = list(csv.DictReader(io.StringIO(archive.read(f"{table}.csv").decode())))
        assert len(rows) == count
    users = list(csv.DictReader(io.StringIO(archive.read("users.csv").decode())))
    assert users[0]["id"] == str(subject.user.id)
