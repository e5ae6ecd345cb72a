"""Serialising migration runs and recording each applied version.

``migration_history`` lives outside the versioned schema (like ``alembic_version``), so it
also records the downgrade of the very first version.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Collection, Mapping
from typing import Any

from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError

MIGRATION_LOCK_KEY = 0x5245_4349_5045  # "RECIPE": shared by every runner of this schema
HISTORY_TABLE = "migration_history"
APPLIED_KEY = "datalayer_applied_revisions"  # connection.info key: what this run applied
LOCK_TIMEOUT_KEY = "datalayer_lock_timeout_ms"  # connection.info key: DDL lock wait bound

_CREATE_HISTORY = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision varchar(64) NOT NULL,
    direction varchar(10) NOT NULL CHECK (direction IN ('upgrade', 'downgrade')),
    from_revisions varchar(255) NOT NULL DEFAULT '',
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by varchar(128) NOT NULL DEFAULT current_user,
    runner varchar(128),
    elapsed_ms integer NOT NULL
)
"""


def lock_and_prepare(connection: Connection) -> None:
    """Take the migration lock (held until commit) and make sure the history table exists."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    # Only after the advisory lock: waiting for another runner must not time out, but a DDL
    # waiting for a table lock must, or every read of that table queues behind it.
    lock_timeout_ms = connection.info.get(LOCK_TIMEOUT_KEY)
    if lock_timeout_ms:
        connection.execute(
            text("SELECT set_config('lock_timeout', :value, true)"),
            {"value": f"{int(lock_timeout_ms)}ms"},
        )
    connection.execute(text(_CREATE_HISTORY))
    connection.info["migration_step_started"] = time.monotonic()


def validate_and_record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """``on_version_apply`` hook: run the version's validation step, then write its audit row.

    Both happen inside the migration transaction: a failed validation rolls the version back.
    """
    connection = ctx.connection
    assert connection is not None
    module = getattr(step.up_revision, "module", None)
    check_name = "validate_upgrade" if step.is_upgrade else "validate_downgrade"
    check = getattr(module, check_name, None)
    if check is None:
        raise MigrationError(f"version {step.up_revision_id} has no {check_name}() step")
    check(connection)
    started = connection.info.get("migration_step_started", time.monotonic())
    connection.execute(
        text(
            f"INSERT INTO {HISTORY_TABLE} (revision, direction, from_revisions, runner, elapsed_ms)"
            " VALUES (:revision, :direction, :source, :runner, :elapsed)"
        ),
        {
            "revision": step.up_revision_id,
            "direction": "upgrade" if step.is_upgrade else "downgrade",
            "source": ",".join(sorted(step.source_revision_ids)),
            "runner": _runner_name(),
            "elapsed": int((time.monotonic() - started) * 1000),
        },
    )
    connection.info.setdefault(APPLIED_KEY, []).append(step.up_revision_id)
    connection.info["migration_step_started"] = time.monotonic()


def _runner_name() -> str:
    try:
        return getpass.getuser()[:128]
    except (KeyError, OSError):
        return "unknown"
