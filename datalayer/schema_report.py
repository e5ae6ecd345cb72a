"""A summary of the live schema (tables, columns, indexes, constraints, triggers, rows)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_SUMMARY = text(
    """
    SELECT c.relname AS table_name,
           c.relkind = 'p' AS partitioned,
           (SELECT count(*) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
           (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
           (SELECT count(*) FROM pg_constraint k
             WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'f', 'c', 'x')) AS constraints,
           (SELECT count(*) FROM pg_trigger t
             WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS triggers,
           (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = c.oid) AS partitions
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     ORDER BY c.relname
    """
)


@dataclass(frozen=True)
class TableSummary:
    name: str
    partitioned: bool
    columns: int
    indexes: int
    constraints: int
    triggers: int
    partitions: int
    rows: int


async def schema_summary(engine: AsyncEngine) -> list[TableSummary]:
    """One :class:`TableSummary` per top-level table of the current schema."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_SUMMARY)).mappings().all()
        summaries = []
        for row in rows:
            # Table names come from the catalogue, not from input; quote them all the same.
            count_sql = text(f'SELECT count(*) FROM "{row["table_name"]}"')
            count = (await connection.execute(count_sql)).scalar_one()
            summaries.append(
                TableSummary(
                    name=row["table_name"],
                    rows=int(count),
                    **{
                        key: row[key]
                        for key in (
                            "partitioned",
                            "columns",
                            "indexes",
                            "constraints",
                            "triggers",
                            "partitions",
                        )
                    },
                )
            )
        return summaries
