"""Export: every owned table found from the foreign-key graph, nothing of anyone else."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile

import numpy as np
import psycopg

from datalayer import models as m
from datalayer.db import Database
from datalayer.gdpr.export import collect_user_data
from datalayer.gdpr.inventory import load_inventory
from datalayer.migrations import runner
from datalayer.settings import Settings
from tests import factories
from tests.integration.gdpr.support import populated_user, tables_linked_to_users


def stored_vector(dim: int) -> np.ndarray:
    """float32 values a text round trip could get wrong: thirds, extremes, a negative zero."""
    values = np.random.default_rng(7).standard_normal(dim).astype(np.float32)
    values[:5] = [np.float32(1) / 3, -0.0, np.finfo(np.float32).max, np.finfo(np.float32).tiny, -7]
    return values


def decode(value: str, spec: dict[str, object]) -> np.ndarray:
    """A reader's decoding, from the manifest's declaration only."""
    assert (spec["encoding"], spec["dtype"], spec["byte_order"]) == ("base64", "float32", "little")
    decoded = np.frombuffer(base64.b64decode(value, validate=True), dtype="<f4")
    assert decoded.size == spec["dim"]
    return decoded


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
    canonical = json.dumps(
        parsed["data"], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert parsed["manifest"]["checksum_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()


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


async def test_exported_vectors_decode_to_the_stored_values_bit_for_bit(
    db: Database, settings: Settings, database_url: str
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    graph = await factories.graph(db)
    values = stored_vector(settings.embedding_dim)
    async with db.transaction() as session:
        session.add(factories.rows(graph)["recipe_embeddings"](embedding=values))
    async with db.write_engine.connect() as connection:
        export = await collect_user_data(connection, graph.user.id, key)
    # The stored values, independently of pgvector's formats: float4 arrays in binary.
    with psycopg.connect(database_url) as direct:
        row = direct.cursor(binary=True).execute(
            "SELECT embedding::real[] FROM recipe_embeddings WHERE recipe_id = %s",
            (graph.recipe.id,),
        )
        stored = np.array(row.fetchone()[0], dtype=np.float32)  # type: ignore[index]
    assert stored.view(np.uint32).tolist() == values.view(np.uint32).tolist()

    document = json.loads(export.to_json())
    spec = document["manifest"]["vectors"]["recipe_embeddings"]["embedding"]
    assert spec["dim"] == settings.embedding_dim
    assert document["manifest"]["vectors"].keys() == {"recipe_embeddings"}
    (row,) = document["data"]["recipe_embeddings"]
    assert row["model"] == "test-model" and row["recipe_id"] == str(graph.recipe.id)
    from_json = decode(row["embedding"], spec)
    assert from_json.view(np.uint32).tolist() == stored.view(np.uint32).tolist()

    archive = zipfile.ZipFile(io.BytesIO(export.to_csv_zip()))
    (csv_row,) = csv.DictReader(io.StringIO(archive.read("recipe_embeddings.csv").decode()))
    csv_spec = json.loads(archive.read("manifest.json"))["vectors"]["recipe_embeddings"]
    assert decode(csv_row["embedding"], csv_spec["embedding"]).tobytes() == values.tobytes()
