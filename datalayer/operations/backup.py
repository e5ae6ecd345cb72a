"""Logical backups with a manifest that says exactly what they hold, and their restore.

``create_backup`` takes one repeatable-read snapshot, records every table's row count and
an order-independent checksum from it, and has ``pg_dump`` (directory format, parallel
jobs) dump that very snapshot (``--snapshot``), so the manifest and the dump describe the
same data, and records the names of the vector indexes (:mod:`.restore` builds those last).
Restoring is in :mod:`datalayer.operations.restore`.

The dump is uncompressed unless asked otherwise: the embeddings are most of it, gzip
shrinks their text only about 2.6-fold, and gzip is most of the time of both the dump
and the restore's data load.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from datalayer.errors import InvalidInputError
from datalayer.operations.binaries import client_binary, run_client
from datalayer.operations.vector_indexes import VECTOR_INDEXES_QUERY

MANIFEST = "manifest.json"
DUMP_DIRECTORY = "dump"
PHYSICAL = "physical"
"""The manifest format of a physical backup (:mod:`datalayer.operations.physical`)."""

# Every column's text, hashed per row and summed: the same rows give the same figure in any
# physical order, which a restore does not keep. A vector column enters as the md5 of its
# binary form: printing 1,536 floats per row as text would dominate the time.
_TABLE_FIGURES = (
    "SELECT count(*), coalesce(sum(hashtextextended({row}::text, 0)::numeric), 0)::text "
    "FROM {table} AS t"
)
COLUMNS_QUERY = """
SELECT a.attname, format_type(a.atttypid, NULL) = 'vector' FROM pg_attribute AS a
 WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum
"""
_TABLES = """
SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 ORDER BY c.relname
"""


@dataclass(frozen=True)
class TableFigures:
    rows: int
    checksum: str


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds: per-table figures, schema version and when it was taken."""

    created_at: str
    schema_version: str | None
    server_version: str
    tables: dict[str, TableFigures]
    jobs: int
    format: str = "directory"
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # Manifests written before these fields existed: pg_dump's default gzip, names unknown.
    compression: str = "gzip"
    vector_indexes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(figures.rows for figures in self.tables.values())

    def save(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> BackupManifest:
        path = directory / MANIFEST
        if not path.exists():
            raise InvalidInputError(f"not a backup: {path.name} is missing", field="backup")
        data = json.loads(path.read_text())
        data["tables"] = {name: TableFigures(**f) for name, f in data["tables"].items()}
        data["vector_indexes"] = tuple(data.get("vector_indexes", ()))
        return cls(**data)


def libpq_url(url: str) -> str:
    """``url`` without a SQLAlchemy driver suffix, as libpq programs take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def figures_query(table: str, columns: Sequence[tuple[str, bool]]) -> str:
    """The row count and checksum statement for ``table`` (a name from the catalog), given
    its ``(column, is_vector)`` pairs in order (:data:`COLUMNS_QUERY`)."""
    if not any(is_vector for _, is_vector in columns):
        row = "t"
    else:
        parts = [
            f"md5(vector_send(t.{_quoted(name)}))" if is_vector else f"t.{_quoted(name)}"
            for name, is_vector in columns
        ]
        row = f"ROW({', '.join(parts)})"
    return _TABLE_FIGURES.format(row=row, table=_quoted(table))


def table_figures(connection: psycopg.Connection[Any]) -> dict[str, TableFigures]:
    """Row count and checksum of every table, in the connection's current snapshot."""
    names = [row[0] for row in connection.execute(_TABLES)]
    figures = {}
    for name in names:
        columns = [
            (str(column), bool(is_vector))
            for column, is_vector in connection.execute(COLUMNS_QUERY, {"table": _quoted(name)})
        ]
        query = figures_query(name, columns)
        rows, checksum = connection.execute(query.encode()).fetchone() or (0, "0")
        figures[name] = TableFigures(rows=int(rows), checksum=str(checksum))
    return figures


def create_backup(
    url: str, directory: Path, *, jobs: int = 2, gzip_level: int = 0
) -> BackupManifest:
    """Dump the database at ``url`` into ``directory`` (new or empty) with its manifest;
    ``gzip_level`` 1-9 compresses the dump (0: not compressed)."""
    if not 0 <= gzip_level <= 9:
        raise InvalidInputError("gzip_level must be 0 (none) to 9", field="gzip_level")
    empty_directory(directory)
    compression = f"gzip:{gzip_level}" if gzip_level else "none"
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()
        figures = table_figures(connection)
        version = schema_version(connection)
        server = str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        vectors = tuple(str(row[0]) for row in connection.execute(VECTOR_INDEXES_QUERY))
        run_client(
            [
                str(client_binary("pg_dump")),
                "--format=directory",
                f"--jobs={jobs}",
                f"--compress={gzip_level}",  # 0: none, in every pg_dump version
                f"--snapshot={snapshot[0]}",  # type: ignore[index]
                f"--file={directory / DUMP_DIRECTORY}",
                "--no-password",
                f"--dbname={libpq_url(url)}",
            ]
        )
    manifest = BackupManifest(
        created_at=datetime.now(UTC).isoformat(),
        schema_version=version,
        server_version=server,
        tables=figures,
        jobs=jobs,
        seconds=round(time.perf_counter() - started, 3),
        compression=compression,
        vector_indexes=vectors,
    )
    manifest.save(directory)
    return manifest


def empty_directory(directory: Path) -> None:
    """Create ``directory`` when missing; refuse one that holds anything."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise InvalidInputError("the backup directory must be empty", field="directory")


def schema_version(connection: psycopg.Connection[Any]) -> str | None:
    """The Alembic revision of the database, ``None`` when it has no ``alembic_version``."""
    exists = connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None
