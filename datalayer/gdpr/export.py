"""A person's complete data: every owned table (from the foreign-key graph) and the audit
entries about them, as one JSON document or as one CSV file per table in a zip.

Both formats carry a manifest: the tables and their row counts, the schema version, when it
was generated and a SHA-256 checksum of the data, so the recipient can check completeness.
Rows are read in one repeatable-read transaction: the export is a consistent snapshot.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.audit import subject_hash
from datalayer.gdpr.inventory import Inventory, load_inventory

AUDIT_TABLE = "audit_logs"
FORMATS = ("json", "csv")


@dataclass(frozen=True)
class ExportManifest:
    """What an export holds and how to check it."""

    subject: str
    schema_version: str | None
    generated_at: str
    tables: dict[str, int]
    checksum_sha256: str

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class UserExport:
    """The collected rows per table (JSON-ready values) and their manifest."""

    manifest: ExportManifest
    tables: dict[str, list[dict[str, Any]]]

    def to_json(self) -> bytes:
        document = {"manifest": asdict(self.manifest), "data": self.tables}
        # Compact: with an indent the standard library falls back to its pure-Python encoder.
        return json.dumps(document, sort_keys=True, ensure_ascii=False).encode()

    def to_csv_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(asdict(self.manifest), indent=1))
            for name, rows in self.tables.items():
                archive.writestr(f"{name}.csv", _csv(rows))
        return buffer.getvalue()

    def render(self, export_format: str) -> bytes:
        if export_format == "json":
            return self.to_json()
        if export_format == "csv":
            return self.to_csv_zip()
        raise ValueError(f"unknown export format {export_format!r}")


async def collect_user_data(
    connection: AsyncConnection,
    user_id: uuid.UUID,
    audit_key: str,
    *,
    inventory: Inventory | None = None,
) -> UserExport:
    """Everything the database holds about ``user_id`` (callers open the transaction)."""
    inventory = inventory or await load_inventory(connection)
    tables: dict[str, list[dict[str, Any]]] = {}
    keys = await _primary_keys(connection, [table.name for table in inventory.owned])
    for table in inventory.owned:
        # json (not jsonb) in primary-key order: no binary round trip and no sort on the
        # rows' text, which for embeddings costs more than reading them.
        order = ", ".join(f't."{column}"' for column in keys.get(table.name, [])) or "t::text"
        statement = text(
            f"SELECT coalesce(json_agg(t ORDER BY {order}), '[]'::json) "
            f"FROM {table.name} AS t WHERE {table.ownership_condition('t')}"
        )
        tables[table.name] = list(
            (await connection.execute(statement, {"user_id": user_id})).scalar_one()
        )
    audit = text(
        f"SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.id), '[]'::jsonb) "
        f"FROM {AUDIT_TABLE} AS a WHERE a.subject_hash = :subject"
    )
    tables[AUDIT_TABLE] = list(
        (
            await connection.execute(audit, {"subject": subject_hash(user_id, audit_key)})
        ).scalar_one()
    )
    version = await connection.execute(text("SELECT version_num FROM alembic_version"))
    checksum = hashlib.sha256(
        json.dumps(tables, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    manifest = ExportManifest(
        subject=str(user_id),
        schema_version=version.scalar(),
        generated_at=datetime.now(UTC).isoformat(),
        tables={name: len(rows) for name, rows in tables.items()},
        checksum_sha256=checksum,
    )
    return UserExport(manifest=manifest, tables=tables)


_PRIMARY_KEYS = text(
    "SELECT c.relname, array_agg(a.attname::text ORDER BY array_position(i.indkey, a.attnum)) "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
    "WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace "
    "AND c.relname = ANY(:names) GROUP BY c.relname"
)


async def _primary_keys(connection: AsyncConnection, names: list[str]) -> dict[str, list[str]]:
    """Each table's primary-key columns, in key order (the export's row order)."""
    rows = await connection.execute(_PRIMARY_KEYS, {"names": names})
    return {name: list(columns) for name, columns in rows.tuples().all()}


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = sorted({column for row in rows for column in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return out.getvalue()
