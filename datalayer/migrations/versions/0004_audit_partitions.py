"""audit partitions: monthly partitions of audit_logs, dropped only by maintenance after 7 years

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:00:00

``audit_logs`` becomes range-partitioned by month on ``occurred_at``. Monthly rather than
yearly: a row is then kept at most seven years and one month (yearly partitions would keep
the oldest rows of a year almost eight), each drop is small, and the monthly compliance
report prunes to one partition. The existing rows move over with their ids, the identity
continues after the highest id, and the append-only triggers, indexes, CHECK and grants are
recreated. Every partition also gets its own BEFORE TRUNCATE trigger, since a statement
trigger on the parent does not fire for ``TRUNCATE audit_logs_YYYYMM``.

Two SECURITY DEFINER functions, executable only by the NOLOGIN role ``recipe_maintenance``:
``ensure_audit_log_partitions(months_ahead, since)`` creates partitions ahead, and
``drop_expired_audit_log_partitions()`` detaches and drops every month that ended more than
seven years ago. Before dropping, it records in ``audit_log_retention`` the ``row_hash`` of
each dropped row that a remaining row names as its ``prev_hash``, so ``audit verify`` accepts
exactly those links as the new start of the chain (and still reports any other gap).
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAINTENANCE_ROLE = "recipe_maintenance"
RETENTION = "7 years"
MONTHS_AHEAD = 12
_COLUMNS = (
    "id, occurred_at, actor, action, entity_type, entity_id, subject_hash, details, "
    "prev_hash, row_hash"
)
_INDEXES = (
    "CREATE INDEX ix_audit_logs_entity ON audit_logs (entity_type, entity_id)",
    "CREATE INDEX ix_audit_logs_occurred_at ON audit_logs (occurred_at)",
    "CREATE INDEX ix_audit_logs_subject_hash_occurred_at ON audit_logs (subject_hash, occurred_at)",
)
_APPEND_ONLY = (
    "CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION reject_audit_log_change()",
    "CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION reject_audit_log_change()",
)

CREATED = SchemaObjects(
    tables=frozenset({"audit_log_retention"}),
    constraints=frozenset({"pk_audit_log_retention", "ck_audit_log_retention_range"}),
    triggers=frozenset(
        {"trg_audit_log_retention_append_only", "trg_audit_log_retention_no_truncate"}
    ),
    functions=frozenset({"ensure_audit_log_partitions", "drop_expired_audit_log_partitions"}),
)

_ENSURE = f"""
CREATE FUNCTION ensure_audit_log_partitions(
    months_ahead integer DEFAULT {MONTHS_AHEAD}, since date DEFAULT NULL
) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT SET timezone TO 'UTC' AS $$
DECLARE
    month_start date := date_trunc('month', least(coalesce(since, now()::date), now()::date));
    last_month date := date_trunc('month', now() + make_interval(months => months_ahead));
    partition_name text;
    created integer := 0;
BEGIN
    IF months_ahead IS NULL OR months_ahead NOT BETWEEN 0 AND 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WHILE month_start <= last_month LOOP
        partition_name := format('audit_logs_%s', to_char(month_start, 'YYYYMM'));
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, (month_start + interval '1 month')::date);
            EXECUTE format(
                'CREATE TRIGGER %I BEFORE TRUNCATE ON %I '
                'FOR EACH STATEMENT EXECUTE FUNCTION reject_audit_log_change()',
                'trg_' || partition_name || '_no_truncate', partition_name);
            created := created + 1;
        END IF;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$
"""

# Months whose end lies more than RETENTION ago, oldest first. The links from remaining rows
# into a dropped month are recorded before the drop (a hash semi-join, one pass each).
_DROP = f"""
CREATE FUNCTION drop_expired_audit_log_partitions() RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET timezone TO 'UTC' AS $$
DECLARE
    part record;
    range_start timestamptz;
    dropped_rows bigint;
    boundary text[];
BEGIN
    FOR part IN
        SELECT c.oid, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_logs'::regclass AND c.relname ~ '^audit_logs_[0-9]{{6}}$'
        ORDER BY c.relname
    LOOP
        range_start := to_date(right(part.relname, 6), 'YYYYMM');
        EXIT WHEN range_start + interval '1 month' > now() - interval '{RETENTION}';
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', part.relname);
        EXECUTE format(
            'SELECT (SELECT count(*) FROM %1$I), ARRAY(SELECT DISTINCT a.prev_hash '
            'FROM audit_logs a WHERE a.tableoid <> %2$s '
            'AND a.prev_hash IN (SELECT row_hash FROM %1$I))',
            part.relname, part.oid) INTO dropped_rows, boundary;
        INSERT INTO audit_log_retention
            (partition_name, range_start, range_end, rows_dropped, boundary_hashes)
        VALUES (part.relname, range_start, range_start + interval '1 month', dropped_rows,
                boundary);
        EXECUTE format('ALTER TABLE audit_logs DETACH PARTITION %I', part.relname);
        EXECUTE format('DROP TABLE %I', part.relname);
        RETURN NEXT part.relname::text;
    END LOOP;
END $$
"""

_RETENTION_TABLE = """
CREATE TABLE audit_log_retention (
    partition_name varchar(64) NOT NULL,
    range_start timestamptz NOT NULL,
    range_end timestamptz NOT NULL,
    rows_dropped bigint NOT NULL,
    boundary_hashes varchar(64)[] DEFAULT '{}' NOT NULL,
    dropped_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_audit_log_retention PRIMARY KEY (partition_name),
    CONSTRAINT ck_audit_log_retention_range CHECK (range_start < range_end)
)
"""


def upgrade() -> None:
    app = _app_role()
    op.execute("LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE")
    _rename_aside()
    op.execute(
        """
        CREATE TABLE audit_logs (
            id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
            occurred_at timestamptz DEFAULT now() NOT NULL,
            actor varchar(128),
            action varchar(64) NOT NULL,
            entity_type varchar(64) NOT NULL,
            entity_id varchar(128),
            subject_hash varchar(64),
            details jsonb DEFAULT '{}'::jsonb NOT NULL,
            prev_hash varchar(64),
            row_hash varchar(64),
            CONSTRAINT ck_audit_logs_action_not_blank CHECK (length(btrim(action)) > 0),
            CONSTRAINT pk_audit_logs PRIMARY KEY (id, occurred_at)
        ) PARTITION BY RANGE (occurred_at)
        """
    )
    for statement in _INDEXES:
        op.execute(statement)
    op.execute(_RETENTION_TABLE)
    for statement in _APPEND_ONLY:
        op.execute(statement.format(table="audit_logs"))
        op.execute(statement.format(table="audit_log_retention"))
    op.execute(_ENSURE)
    op.execute(_DROP)
    op.execute(
        "SELECT ensure_audit_log_partitions("
        f"{MONTHS_AHEAD}, (SELECT min(occurred_at)::date FROM audit_logs_unpartitioned))"
    )
    op.execute(
        f"INSERT INTO audit_logs ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
        f"SELECT {_COLUMNS} FROM audit_logs_unpartitioned"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_logs', 'id'), "
        "coalesce((SELECT max(id) FROM audit_logs), 0) + 1, false)"
    )
    op.execute("DROP TABLE audit_logs_unpartitioned")
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{MAINTENANCE_ROLE}') THEN
                CREATE ROLE {MAINTENANCE_ROLE} NOLOGIN;
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT SELECT, INSERT ON audit_logs TO {app}")
    op.execute(f"GRANT SELECT ON audit_log_retention TO {app}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {MAINTENANCE_ROLE}")
    op.execute(f"GRANT SELECT ON audit_logs, audit_log_retention TO {MAINTENANCE_ROLE}")
    for function in ("ensure_audit_log_partitions(integer, date)", _DROP_SIGNATURE):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {MAINTENANCE_ROLE}")


_DROP_SIGNATURE = "drop_expired_audit_log_partitions()"


def downgrade() -> None:
    app = _app_role()
    op.execute("LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE")
    op.execute(f"REVOKE ALL ON audit_logs, audit_log_retention FROM {MAINTENANCE_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {MAINTENANCE_ROLE}")
    op.execute(f"DROP FUNCTION {_DROP_SIGNATURE}")
    op.execute("DROP FUNCTION ensure_audit_log_partitions(integer, date)")
    op.execute("DROP TABLE audit_log_retention")
    _rename_aside()
    op.execute(
        """
        CREATE TABLE audit_logs (
            id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
            occurred_at timestamptz DEFAULT now() NOT NULL,
            actor varchar(128),
            action varchar(64) NOT NULL,
            entity_type varchar(64) NOT NULL,
            entity_id varchar(128),
            subject_hash varchar(64),
            details jsonb DEFAULT '{}'::jsonb NOT NULL,
            prev_hash varchar(64),
            row_hash varchar(64),
            CONSTRAINT ck_audit_logs_action_not_blank CHECK (length(btrim(action)) > 0),
            CONSTRAINT pk_audit_logs PRIMARY KEY (id)
        )
        """
    )
    op.execute(
        f"INSERT INTO audit_logs ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
        f"SELECT {_COLUMNS} FROM audit_logs_unpartitioned"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_logs', 'id'), "
        "coalesce((SELECT max(id) FROM audit_logs), 0) + 1, false)"
    )
    op.execute("DROP TABLE audit_logs_unpartitioned")  # drops its partitions with it
    for statement in _INDEXES:
        op.execute(statement)
    for statement in _APPEND_ONLY:
        op.execute(statement.format(table="audit_logs"))
    op.execute(f"GRANT SELECT, INSERT ON audit_logs TO {app}")


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)
    if _relkind(connection) != "p":
        raise MigrationError("validation failed: audit_logs is not partitioned")


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)
    if _relkind(connection) != "r":
        raise MigrationError("validation failed: audit_logs is still partitioned")


def _rename_aside() -> None:
    """Move the current table and the names it holds out of the way of its replacement."""
    op.execute("ALTER TABLE audit_logs RENAME TO audit_logs_unpartitioned")
    op.execute("ALTER SEQUENCE audit_logs_id_seq RENAME TO audit_logs_unpartitioned_id_seq")
    op.execute(
        "ALTER TABLE audit_logs_unpartitioned "
        "RENAME CONSTRAINT pk_audit_logs TO pk_audit_logs_unpartitioned"
    )
    for index in ("entity", "occurred_at", "subject_hash_occurred_at"):
        op.execute(
            f"ALTER INDEX ix_audit_logs_{index} RENAME TO ix_audit_logs_unpartitioned_{index}"
        )


def _relkind(connection: Connection) -> str:
    return str(
        connection.execute(
            text("SELECT relkind FROM pg_class WHERE oid = 'audit_logs'::regclass")
        ).scalar_one()
    )


def _app_role() -> str:
    return get_settings().database_app_role
