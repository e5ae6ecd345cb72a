"""Index health: find INVALID and bloated indexes and rebuild them online.

An index is INVALID after a failed ``CREATE INDEX CONCURRENTLY`` or ``REINDEX
CONCURRENTLY``; the leftovers of a failed ``REINDEX CONCURRENTLY`` (``*_ccnew``,
``*_ccold``) are dropped, any other INVALID index is rebuilt. A B-tree over
:data:`MIN_BLOAT_BYTES` whose leaves are more than ``bloat_max_percent`` empty (measured by
``pgstatindex`` from the ``pgstattuple`` extension, when it can be installed) is rebuilt
too. Every rebuild is ``REINDEX INDEX CONCURRENTLY`` in autocommit: reads and writes go on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.db import Database

MIN_BLOAT_BYTES = 1024 * 1024
_LEFTOVER = re.compile(r"_cc(new|old)\d*$")

_INVALID = """
SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND NOT i.indisvalid ORDER BY c.relname
"""
_BTREES = """
SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
  JOIN pg_am AS a ON a.oid = c.relam JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND a.amname = 'btree' AND i.indisvalid
   AND c.relkind = 'i' AND pg_relation_size(c.oid) >= :min_bytes ORDER BY c.relname
"""


@dataclass
class IndexReport:
    """What the index task found and did."""

    invalid: list[str] = field(default_factory=list)
    bloated: dict[str, float] = field(default_factory=dict)
    """Index name -> free space in its leaf pages, percent."""
    rebuilt: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    bloat_measured: bool = True

    def describe(self) -> str:
        parts = [
            f"{len(self.invalid)} invalid",
            f"{len(self.bloated)} bloated",
            f"{len(self.rebuilt)} rebuilt concurrently",
            f"{len(self.dropped)} leftovers dropped",
        ]
        if not self.bloat_measured:
            parts.append("bloat not measured (pgstattuple unavailable)")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def repair_indexes(db: Database, *, bloat_max_percent: int) -> IndexReport:
    """Report INVALID and bloated indexes, then rebuild (or drop leftovers) concurrently."""
    report = IndexReport()
    async with db.write_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        report.invalid = list((await connection.execute(text(_INVALID))).scalars())
        report.bloat_measured = await _pgstattuple(connection)
        if report.bloat_measured:
            report.bloated = await _bloated(connection, bloat_max_percent)
        for name in report.invalid:
            if _LEFTOVER.search(name):
                await connection.execute(text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))
                report.dropped.append(name)
            else:
                await connection.execute(text(f'REINDEX INDEX CONCURRENTLY "{name}"'))
                report.rebuilt.append(name)
        for name in report.bloated:
            await connection.execute(text(f'REINDEX INDEX CONCURRENTLY "{name}"'))
            report.rebuilt.append(name)
    return report


async def _pgstattuple(connection: AsyncConnection) -> bool:
    try:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))
    except DBAPIError:
        return False
    return True


async def _bloated(connection: AsyncConnection, max_percent: int) -> dict[str, float]:
    names = (await connection.execute(text(_BTREES), {"min_bytes": MIN_BLOAT_BYTES})).scalars()
    bloated = {}
    for name in list(names):
        density = await connection.scalar(
            text("SELECT avg_leaf_density FROM pgstatindex(CAST(:name AS regclass))"),
            {"name": name},
        )
        if density is not None and density == density:  # NaN for an index with no leaves
            free = round(100.0 - float(density), 1)
            if free > max_percent:
                bloated[name] = free
    return bloated
