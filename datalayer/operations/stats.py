"""Table and index statistics: the maintenance report (seed 002's ``get_database_stats``:
total users, recent activity, plus what an operator needs to judge bloat and index use)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text

from datalayer.db import Database

RECENT_DAYS = 7

_TABLES = """
SELECT s.relname AS name, s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
       pg_total_relation_size(s.relid) AS total_bytes, pg_indexes_size(s.relid) AS index_bytes,
       s.seq_scan AS seq_scans, coalesce(s.idx_scan, 0) AS index_scans,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze
  FROM pg_stat_user_tables AS s WHERE s.schemaname = current_schema() ORDER BY s.relname
"""
_INDEXES = """
SELECT s.indexrelname AS name, s.relname AS table_name, s.idx_scan AS scans,
       pg_relation_size(s.indexrelid) AS bytes, i.indisunique AS is_unique
  FROM pg_stat_user_indexes AS s JOIN pg_index AS i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname = current_schema() ORDER BY s.relname, s.indexrelname
"""
_TOTALS = f"""
SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM users WHERE is_active) AS active_users,
       (SELECT count(*) FROM recipes) AS recipes,
       (SELECT count(*) FROM recipes WHERE created_at > now() - interval '{RECENT_DAYS} days')
           AS recent_recipes,
       (SELECT count(*) FROM recipe_embeddings) AS embeddings,
       (SELECT count(*) FROM system_logs
         WHERE created_at > now() - interval '{RECENT_DAYS} days') AS recent_system_logs,
       pg_database_size(current_database()) AS database_bytes
"""


@dataclass(frozen=True)
class DatabaseStatistics:
    """Totals, then one row of figures per table and per index."""

    totals: dict[str, int]
    tables: list[dict[str, Any]] = field(default_factory=list)
    indexes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unused_indexes(self) -> list[str]:
        """Indexes never scanned since the statistics were reset (unique ones excluded:
        they enforce a rule even when no query reads them)."""
        return [i["name"] for i in self.indexes if not i["scans"] and not i["is_unique"]]

    def describe(self) -> str:
        t = self.totals
        return (
            f"{t['users']} users ({t['active_users']} active), {t['recipes']} recipes "
            f"({t['recent_recipes']} in {RECENT_DAYS} days), {t['embeddings']} embeddings, "
            f"{t['database_bytes'] // (1024 * 1024)} MB; {len(self.tables)} tables, "
            f"{len(self.indexes)} indexes ({len(self.unused_indexes)} never scanned)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unused_indexes": self.unused_indexes}


async def database_statistics(db: Database) -> DatabaseStatistics:
    """Read the statistics of the database behind ``db`` (nothing is changed)."""
    async with db.write_engine.connect() as connection:
        totals = dict((await connection.execute(text(_TOTALS))).one()._mapping)
        tables = [dict(row._mapping) for row in await connection.execute(text(_TABLES))]
        indexes = [dict(row._mapping) for row in await connection.execute(text(_INDEXES))]
    for row in tables:
        for key in ("last_vacuum", "last_analyze"):
            row[key] = row[key].isoformat() if row[key] is not None else None
    return DatabaseStatistics({k: int(v) for k, v in totals.items()}, tables, indexes)
