"""A person's complete data: every owned table (from the foreign-key graph) and the audit
entries about them, as one JSON document or as one CSV file per table in a zip.

Both formats carry a manifest: the tables and their row counts, the schema version, when it
was generated, how vector columns are encoded and a SHA-256 checksum of the data, so the
recipient can decode it and check completeness. Rows are read in one repeatable-read
transaction: the export is a consistent snapshot.

Vectors (pgvector ``vector`` columns) are written compactly: base64 of their float32 values
in little-endian byte order, which a reader turns back into the stored numbers exactly
(``numpy.frombuffer(base64.b64decode(value), "<f4")``). As JSON numbers they were twice as
large, and rendering them as text took most of the export's time.
"""

from __future__ import annotations

import binascii
import csv
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import orjson
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.audit import subject_hash
from datalayer.gdpr.inventory import Inventory, OwnedTable, load_inventory

AUDIT_TABLE = "audit_logs"
FORMATS = ("json", "csv")

# How every vector value is written; the manifest repeats it per column, with the dimension.
VECTOR_ENCODING = {"encoding": "base64", "dtype": "float32", "byte_order": "little"}
# pgvector's binary form (vector_send): int16 dimension, int16 unused, big-endian float4s.
_VECTOR_HEADER_BYTES = 4


@dataclass(frozen=True)
class ExportManifest:
    """What an export holds and how to read and check it.

    ``vectors`` names the vector columns per table with their encoding and dimension
    (``None`` for a column declared without one); ``checksum_sha256`` is the SHA-256 of the
    ``data`` member as written: compact JSON (no whitespace), keys sorted, UTF-8.
    """

    subject: str
    schema_version: str | None
    generated_at: str
    tables: dict[str, int]
    checksum_sha256: str
    vectors: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class UserExport:
    """The collected rows per table (JSON-ready values), their manifest and ``data_json``,
    the serialised rows the checksum was computed over."""

    manifest: ExportManifest
    tables: dict[str, list[dict[str, Any]]]
    data_json: bytes = field(repr=False, compare=False)

    def to_json(self) -> bytes:
        return b"".join(self.json_parts())

    def json_parts(self) -> list[bytes]:
        """The JSON document as consecutive parts, so a writer need not join ~100 MB first.

        Keys in sorted order ("data" < "manifest"); the data part is the checksummed bytes.
        """
        manifest = orjson.dumps(asdict(self.manifest), option=orjson.OPT_SORT_KEYS)
        return [b'{"data":', self.data_json, b',"manifest":', manifest, b"}"]

    def to_csv_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(asdict(self.manifest), indent=1))
            for name, rows in self.tables.items():
                archive.writestr(f"{name}.csv", _csv(rows))
        return buffer.getvalue()

    def render(self, export_format: str) -> list[bytes]:
        """The file in ``export_format`` (json or csv), as consecutive parts."""
        if export_format == "json":
            return self.json_parts()
        if export_format == "csv":
            return [self.to_csv_zip()]
        raise ValueError(f"unknown export format {export_format!r}")


def _serialise_data(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    """The ``data`` member as the export writes and checksums it."""
    return orjson.dumps(tables, option=orjson.OPT_SORT_KEYS)


async def collect_user_data(
    connection: AsyncConnection,
    user_id: uuid.UUID,
    audit_key: str,
    *,
    inventory: Inventory | None = None,
) -> UserExport:
    """Everything the database holds about ``user_id`` (callers open the transaction)."""
    inventory = inventory or await load_inventory(connection)
    names = [table.name for table in inventory.owned]
    keys = await _primary_keys(connection, names)
    columns = await _columns(connection, names)
    queries = [
        _TableQuery.build(table, keys.get(table.name, []), columns[table.name])
        for table in inventory.owned
    ]
    queries.append(
        _TableQuery(
            AUDIT_TABLE,
            "SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.id), '[]'::jsonb)::text "
            f"FROM {AUDIT_TABLE} AS a WHERE a.subject_hash = %(subject)s",
        )
    )
    params = {"user_id": user_id, "subject": subject_hash(user_id, audit_key)}
    tables = await _read(connection, queries, params)
    version = await connection.execute(text("SELECT version_num FROM alembic_version"))
    data_json = _serialise_data(tables)
    manifest = ExportManifest(
        subject=str(user_id),
        schema_version=version.scalar(),
        generated_at=datetime.now(UTC).isoformat(),
        tables={name: len(rows) for name, rows in tables.items()},
        checksum_sha256=hashlib.sha256(data_json).hexdigest(),
        vectors={query.table: query.vectors for query in queries if query.vectors},
    )
    return UserExport(manifest=manifest, tables=tables, data_json=data_json)


@dataclass(frozen=True)
class _TableQuery:
    """One table's rows: the statement (driver placeholders) and how to read its result.

    A table without vectors comes as one JSON array rendered by the database, in
    primary-key order. A table with vectors comes row by row: the other columns as JSON,
    each vector in pgvector's binary form, encoded here. Those rows are sorted here, since
    a sort in SQL would carry every detoasted vector with it.
    """

    table: str
    sql: str
    vectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, table: OwnedTable, key: list[str], columns: list[tuple[str, int | None]]
    ) -> _TableQuery:
        condition = table.ownership_condition("t", user_id="%(user_id)s")
        vectors = {
            name: {**VECTOR_ENCODING, "dim": dim if dim > 0 else None}
            for name, dim in columns
            if dim is not None
        }
        if not vectors:
            # json (not jsonb) in primary-key order: no binary round trip.
            order = ", ".join(f't."{column}"' for column in key) or "t::text"
            return cls(
                table.name,
                f"SELECT coalesce(json_agg(t ORDER BY {order}), '[]'::json)::text "
                f"FROM {table.name} AS t WHERE {condition}",
            )
        plain = ", ".join(f't."{name}"' for name, _ in columns if name not in vectors)
        binary = ", ".join(f'vector_send(t."{name}")' for name in vectors)
        return cls(
            table.name,
            f"SELECT row_to_json(s)::text, {binary} FROM {table.name} AS t "
            f"CROSS JOIN LATERAL (SELECT {plain}) AS s WHERE {condition}",
            vectors,
            tuple(key),
        )

    async def rows(self, cursor: psycopg.AsyncCursor[Any]) -> list[dict[str, Any]]:
        """The executed query's rows; row by row off the result, so the vectors' bytes
        never all exist as Python objects at once."""
        if not self.vectors:
            document = await cursor.fetchone()
            rows: list[dict[str, Any]] = orjson.loads(document[0]) if document else []
            return rows
        rows = []
        async for plain, *vectors in cursor:
            row = orjson.loads(plain)
            for name, value in zip(self.vectors, vectors, strict=True):
                row[name] = encode_vector(value)
            rows.append(row)
        if self.key:
            rows.sort(key=lambda row: tuple(row[name] for name in self.key))
        else:
            rows.sort(key=lambda row: orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        return rows


async def _read(
    connection: AsyncConnection, queries: list[_TableQuery], params: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Every query's rows, through the driver in the caller's transaction, with binary
    results: as text, a vector's bytes would travel hex-encoded."""
    raw = await connection.get_raw_connection()
    driver = cast("psycopg.AsyncConnection[Any]", raw.driver_connection)
    tables: dict[str, list[dict[str, Any]]] = {}
    for query in queries:
        async with driver.cursor(binary=True) as cursor:
            await cursor.execute(query.sql.encode(), params)
            tables[query.table] = await query.rows(cursor)
    return tables


def encode_vector(binary: bytes | None) -> str | None:
    """pgvector's binary form of one vector -> base64 of its little-endian float32 values."""
    if binary is None:
        return None
    # Swapping the big-endian values' bytes leaves exactly their little-endian bytes.
    swapped = np.frombuffer(binary, dtype=">f4", offset=_VECTOR_HEADER_BYTES).byteswap()
    return binascii.b2a_base64(swapped.data, newline=False).decode("ascii")


_PRIMARY_KEYS = text(
    "SELECT c.relname, array_agg(a.attname::text ORDER BY array_position(i.indkey, a.attnum)) "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
    "WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace "
    "AND c.relname = ANY(:names) GROUP BY c.relname"
)

# Each column in table order; for a pgvector ``vector`` its dimension (-1 when undeclared).
_COLUMNS = text(
    "SELECT c.relname, a.attname::text, "
    "CASE WHEN a.atttypid = to_regtype('vector') THEN a.atttypmod END "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:names) "
    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
)


async def _primary_keys(connection: AsyncConnection, names: list[str]) -> dict[str, list[str]]:
    """Each table's primary-key columns, in key order (the export's row order)."""
    rows = await connection.execute(_PRIMARY_KEYS, {"names": names})
    return {name: list(columns) for name, columns in rows.tuples().all()}


async def _columns(
    connection: AsyncConnection, names: list[str]
) -> dict[str, list[tuple[str, int | None]]]:
    """Each table's columns in order, with the dimension of those that are vectors."""
    found: dict[str, list[tuple[str, int | None]]] = {name: [] for name in names}
    for table, column, dimension in await connection.execute(_COLUMNS, {"names": names}):
        found[table].append((column, dimension))
    return found


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
