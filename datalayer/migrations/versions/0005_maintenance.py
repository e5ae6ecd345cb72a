"""maintenance: partitions ahead without a DEFAULT-partition conflict; expiry index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:00:00

``ensure_system_log_partitions`` failed when a row for a month without its partition had
landed in ``system_logs_default``: creating that month's partition must not leave rows in
the DEFAULT partition that belong to it. The replacement moves such rows out (into a
temporary table), creates the partition and puts them back, all in the caller's
transaction. The expired-export cleanup gets an index on ``expires_at`` of completed
exports, built online (``CREATE INDEX CONCURRENTLY``, a non-transactional step).
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.migrations.concurrent import ConcurrentIndex

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRY_INDEX = ConcurrentIndex(
    name="ix_data_export_requests_expires_at",
    table="data_export_requests",
    columns="(expires_at) WHERE status = 'completed'",
)

_MOVES_DEFAULT_ROWS = "moves rows out of system_logs_default"

ENSURE_PARTITIONS = f"""
CREATE OR REPLACE FUNCTION ensure_system_log_partitions(months_ahead integer DEFAULT 2)
RETURNS integer LANGUAGE plpgsql AS $$
-- {_MOVES_DEFAULT_ROWS} before creating the month they belong to.
DECLARE
    month_start date := date_trunc('month', now())::date;
    month_end date;
    created integer := 0;
    partition_name text;
BEGIN
    FOR i IN 0..months_ahead LOOP
        month_end := (month_start + interval '1 month')::date;
        partition_name := format('system_logs_%s', to_char(month_start, 'YYYYMM'));
        IF to_regclass(partition_name) IS NULL THEN
            DROP TABLE IF EXISTS pg_temp.system_logs_moving;
            CREATE TEMPORARY TABLE system_logs_moving (LIKE system_logs);
            WITH moved AS (
                DELETE FROM system_logs_default
                 WHERE created_at >= month_start AND created_at < month_end
                RETURNING *
            )
            INSERT INTO system_logs_moving SELECT * FROM moved;
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF system_logs FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, month_end);
            INSERT INTO system_logs OVERRIDING SYSTEM VALUE SELECT * FROM system_logs_moving;
            DROP TABLE pg_temp.system_logs_moving;
            created := created + 1;
        END IF;
        month_start := month_end;
    END LOOP;
    RETURN created;
END $$
"""

PREVIOUS_ENSURE_PARTITIONS = """
CREATE OR REPLACE FUNCTION ensure_system_log_partitions(months_ahead integer DEFAULT 2)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', now())::date;
    created integer := 0;
    partition_name text;
BEGIN
    FOR i IN 0..months_ahead LOOP
        partition_name := format('system_logs_%s', to_char(month_start, 'YYYYMM'));
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF system_logs FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, (month_start + interval '1 month')::date);
            created := created + 1;
        END IF;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$
"""


def upgrade() -> None:
    op.execute(ENSURE_PARTITIONS)


def concurrent_steps() -> list[ConcurrentIndex]:
    return [EXPIRY_INDEX]


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {EXPIRY_INDEX.name}")
    op.execute(PREVIOUS_ENSURE_PARTITIONS)


def _moves_default_rows(connection: Connection) -> bool:
    body = connection.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = 'ensure_system_log_partitions'")
    ).scalar()
    return _MOVES_DEFAULT_ROWS in str(body)


def validate_upgrade(connection: Connection) -> None:
    # The expiry index is built after this transaction commits; the runner validates it.
    if not _moves_default_rows(connection):
        raise MigrationError("validation failed: ensure_system_log_partitions not replaced")


def validate_downgrade(connection: Connection) -> None:
    if _moves_default_rows(connection):
        raise MigrationError("validation failed: ensure_system_log_partitions not restored")
    if connection.execute(text(f"SELECT to_regclass('{EXPIRY_INDEX.name}')")).scalar():
        raise MigrationError(f"validation failed, still present: index {EXPIRY_INDEX.name}")
