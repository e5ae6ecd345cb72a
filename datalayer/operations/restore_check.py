"""Validation of a restored database: is it complete, consistent, healthy and lawful to use?

Each check returns a :class:`Check` (name, passed, detail, seconds). The same checks run on
a local restore (``backup validate``) and on an AWS restore-test instance.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.audit import verify_chain
from datalayer.gdpr.ledger import subjects_present
from datalayer.migrations.runner import alembic_config
from datalayer.operations.backup import (
    COLUMNS_QUERY,
    BackupManifest,
    TableFigures,
    figures_query,
)
from datalayer.operations.vector_indexes import vector_indexes_answer

APPEND_ONLY_TRIGGERS = ("trg_audit_logs_append_only", "trg_audit_logs_no_truncate")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    seconds: float = 0.0


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


async def _timed(
    connection: AsyncConnection, name: str, probe: Callable[[], Awaitable[tuple[bool, str]]]
) -> Check:
    """Run one check in its own transaction; a database error fails the check, not the run."""
    started = time.perf_counter()
    try:
        passed, detail = await probe()
        await connection.commit()
    except DBAPIError as exc:
        await connection.rollback()
        # Only the SQLSTATE and the class: a server message may quote row values.
        state = getattr(exc.orig, "sqlstate", None)
        passed, detail = False, f"error {type(exc.orig).__name__} (SQLSTATE {state})"
    return Check(name, passed, detail, round(time.perf_counter() - started, 3))


Probe = Callable[[], Awaitable[tuple[bool, str]]]
Checks = list[tuple[str, Probe]]
AUDIT_CHAIN = "audit hash chain intact"


def copy_checks(
    connection: AsyncConnection, audit_key: str, manifest: BackupManifest | None = None
) -> Checks:
    """The checks that neither need the vector indexes nor change the copy (they can run
    while the indexes build, and before the erasure ledger is re-applied)."""
    checks: Checks = [
        ("schema at migration head", lambda: _schema_at_head(connection)),
        ("foreign keys hold", lambda: _foreign_keys(connection)),
        ("check constraints hold", lambda: _check_constraints(connection)),
        ("b-tree indexes (amcheck)", lambda: _btree_indexes(connection)),
        ("append-only audit triggers", lambda: _audit_triggers(connection)),
        (AUDIT_CHAIN, lambda: _audit_chain(connection, audit_key)),
    ]
    if manifest is not None:
        checks.insert(1, ("rows match the manifest", lambda: _rows(connection, manifest)))
    return checks


def usable_checks(
    connection: AsyncConnection,
    audit_key: str,
    *,
    vector_indexes: Collection[str] = (),
    erased_subjects: set[str] | None = None,
) -> Checks:
    """The checks of a copy about to serve: every vector index (each of ``vector_indexes``,
    at least one) answers a query, search latency, and nobody erased is present."""
    checks: Checks = [
        ("vector search uses HNSW", lambda: vector_indexes_answer(connection, vector_indexes)),
        ("search latency probe", lambda: _latency_probe(connection)),
    ]
    if erased_subjects is not None:
        checks.append(
            ("no erased person present", lambda: _erased(connection, erased_subjects, audit_key))
        )
    return checks


async def run_checks(connection: AsyncConnection, checks: Checks) -> list[Check]:
    """Run ``checks`` in order, each in a transaction of its own."""
    return [await _timed(connection, name, probe) for name, probe in checks]


async def audit_chain_check(connection: AsyncConnection, audit_key: str) -> Check:
    """The audit-chain check alone (again after the ledger appended to the chain)."""
    return await _timed(connection, AUDIT_CHAIN, lambda: _audit_chain(connection, audit_key))


async def validate_database(
    connection: AsyncConnection,
    audit_key: str,
    *,
    manifest: BackupManifest | None = None,
    erased_subjects: set[str] | None = None,
) -> ValidationReport:
    """Run every check on the database behind ``connection`` and report each one.

    ``connection`` must be in the default transactional mode (the audit chain and the ledger
    are read through server-side cursors); every check runs in a transaction of its own.
    """
    checks = copy_checks(connection, audit_key, manifest) + usable_checks(
        connection,
        audit_key,
        vector_indexes=manifest.vector_indexes if manifest is not None else (),
        erased_subjects=erased_subjects,
    )
    return ValidationReport(await run_checks(connection, checks))


async def _schema_at_head(connection: AsyncConnection) -> tuple[bool, str]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return current == head, f"database {current}, code {head}"


async def _rows(connection: AsyncConnection, manifest: BackupManifest) -> tuple[bool, str]:
    mismatched = []
    for name, expected in manifest.tables.items():
        columns = [
            (str(column), bool(is_vector))
            for column, is_vector in await connection.exec_driver_sql(
                COLUMNS_QUERY, {"table": '"' + name.replace('"', '""') + '"'}
            )
        ]
        row = (await connection.exec_driver_sql(figures_query(name, columns))).one()
        if TableFigures(rows=int(row[0]), checksum=str(row[1])) != expected:
            mismatched.append(name)
    return not mismatched, (
        f"{len(manifest.tables)} tables, {manifest.rows} rows match"
        if not mismatched
        else f"differ: {', '.join(mismatched)}"
    )


async def _foreign_keys(connection: AsyncConnection) -> tuple[bool, str]:
    from datalayer.gdpr.inventory import FOREIGN_KEYS_QUERY

    keys = (await connection.execute(FOREIGN_KEYS_QUERY)).all()
    broken = []
    for key in keys:
        pairs = zip(key.child_columns, key.parent_columns, strict=True)
        join = " AND ".join(f"p.{parent} = c.{child}" for child, parent in pairs)
        not_null = " AND ".join(f"c.{child} IS NOT NULL" for child in key.child_columns)
        orphans = await connection.scalar(
            text(
                f"SELECT count(*) FROM {key.child} AS c WHERE {not_null} "
                f"AND NOT EXISTS (SELECT 1 FROM {key.parent} AS p WHERE {join})"
            )
        )
        if orphans:
            broken.append(f"{key.child}->{key.parent} ({orphans})")
    return not broken, f"{len(keys)} foreign keys" if not broken else ", ".join(broken)


async def _check_constraints(connection: AsyncConnection) -> tuple[bool, str]:
    rows = await connection.execute(
        text(
            "SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint AS con JOIN pg_class AS c ON c.oid = con.conrelid "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE con.contype = 'c' AND n.nspname = current_schema() AND NOT c.relispartition "
            "ORDER BY c.relname, con.conname"
        )
    )
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, name, definition in rows.all():
        condition = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
        by_table.setdefault(table, []).append((name, condition))
    broken = []
    # One scan a table, every constraint of it counted at once.
    for table, constraints in by_table.items():
        counts = ", ".join(
            f"count(*) FILTER (WHERE NOT {condition})" for _, condition in constraints
        )
        quoted = '"' + table.replace('"', '""') + '"'
        violating = (await connection.execute(text(f"SELECT {counts} FROM {quoted}"))).one()
        broken += [
            f"{name} ({count})"
            for (name, _), count in zip(constraints, violating, strict=True)
            if count
        ]
    total = sum(len(constraints) for constraints in by_table.values())
    return not broken, (f"{total} constraints" if not broken else ", ".join(broken))


async def _btree_indexes(connection: AsyncConnection) -> tuple[bool, str]:
    await connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    indexes = (
        await connection.execute(
            text(
                "SELECT i.indexrelid::regclass::text FROM pg_index AS i "
                "JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS a ON a.oid = c.relam "
                "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = current_schema() AND c.relkind = 'i'"
            )
        )
    ).scalars()
    names = list(indexes)
    for name in names:
        await connection.execute(
            text("SELECT bt_index_check(CAST(:name AS regclass), true)"), {"name": name}
        )
    return True, f"{len(names)} b-tree indexes verified"


async def _audit_triggers(connection: AsyncConnection) -> tuple[bool, str]:
    found = set(
        (
            await connection.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_logs'::regclass "
                    "AND tgenabled <> 'D'"
                )
            )
        ).scalars()
    )
    missing = sorted(set(APPEND_ONLY_TRIGGERS) - found)
    return not missing, "present and enabled" if not missing else f"missing: {missing}"


async def _audit_chain(connection: AsyncConnection, key: str) -> tuple[bool, str]:
    report = await verify_chain(connection, key)
    if report.intact:
        return True, f"{report.rows_checked} rows linked"
    return False, f"broken at id {report.first_broken_id}: {report.problem}"


async def _latency_probe(connection: AsyncConnection) -> tuple[bool, str]:
    figures: dict[str, Any] = {}
    dim = await connection.scalar(
        text(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'recipe_embeddings'::regclass "
            "AND attname = 'embedding'"
        )
    )
    rng = np.random.default_rng(7)
    vector_times, text_times = [], []
    for _ in range(5):
        query = "[" + ",".join(f"{v:.5f}" for v in rng.standard_normal(int(dim or 1))) + "]"
        started = time.perf_counter()
        await connection.execute(
            text(
                "SELECT recipe_id FROM recipe_embeddings "
                "ORDER BY embedding <=> CAST(:q AS vector) LIMIT 20"
            ),
            {"q": query},
        )
        vector_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await connection.execute(
            text(
                "SELECT id FROM recipes WHERE search_vector @@ websearch_to_tsquery('english', :q) "
                "LIMIT 20"
            ),
            {"q": "tomato basil"},
        )
        text_times.append((time.perf_counter() - started) * 1000)
    figures["vector_ms_median"] = round(float(np.median(vector_times)), 2)
    figures["fulltext_ms_median"] = round(float(np.median(text_times)), 2)
    return True, ", ".join(f"{k} {v}" for k, v in figures.items())


async def _erased(
    connection: AsyncConnection, subjects: set[str], audit_key: str
) -> tuple[bool, str]:
    present = await subjects_present(connection, subjects, audit_key)
    if present:
        return False, f"{len(present)} erased people present"
    return True, f"none of {len(subjects)} erased people present"


@dataclass(frozen=True)
class DrillResult:
    """A restore drill: where it restored, how long it took and what the checks found."""

    report: ValidationReport
    restore_s: float
    validate_s: float
    backup_age_s: float
    reapplied_erasures: int
    rows_checked: int = 0
    """Rows compared against the backup's manifest."""
    overlap_s: float = 0.0
    """Validation seconds that ran while the restore was still building vector indexes."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds of each restore and validation stage, by name."""
    backup_format: str = "directory"
    """The restored backup's format: ``directory`` (pg_dump) or ``physical`` (a
    pg_basebackup restored into a scratch server; its restore time is extracting the files
    and replaying WAL, with no index to build)."""

    @property
    def rto_s(self) -> float:
        """Achieved recovery time: restore plus validation, less the time they overlapped
        (the wall-clock time until the copy was restored, checked and fit to serve)."""
        return round(self.restore_s + self.validate_s - self.overlap_s, 3)

    @property
    def rpo_s(self) -> float:
        """Achieved recovery point: how old the restored data was."""
        return self.backup_age_s
