"""Non-transactional migration steps: indexes built CONCURRENTLY after the commit."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from datalayer.errors import MigrationError
from datalayer.migrations import runner
from datalayer.migrations.concurrent import ConcurrentIndex

HEAD = runner.revisions()[-1]

UNIQUE_VERSION = '''
"""A version with a unique index built concurrently."""
from datalayer.migrations.concurrent import ConcurrentIndex

revision = "9998"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    pass


def concurrent_steps():
    return [ConcurrentIndex("ux_users_username_folded", "users", "(lower(username))", unique=True)]


def downgrade():
    pass


def validate_upgrade(connection):
    pass


def validate_downgrade(connection):
    pass
'''


def index_state(url: str, name: str) -> bool | None:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT i.indisvalid FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            (name,),
        ).fetchone()
    return None if row is None else bool(row[0])


def scripts_with(tmp_path: Path, body: str) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9998_concurrent.py").write_text(body.replace("{head}", HEAD))
    return location


def test_a_declared_index_is_built_and_a_dropped_one_is_rebuilt(database_url: str) -> None:
    assert index_state(database_url, "ix_data_export_requests_expires_at") is True
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DROP INDEX ix_data_export_requests_expires_at")

    assert runner.upgrade(database_url) == []

    assert index_state(database_url, "ix_data_export_requests_expires_at") is True
    assert runner.check(database_url) == []


def test_a_failed_concurrent_build_leaves_an_invalid_index_that_a_rerun_repairs(
    database_url: str, tmp_path: Path
) -> None:
    location = scripts_with(tmp_path, UNIQUE_VERSION)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (username, email) VALUES "
            "('Alice', 'alice1@example.com'), ('alice', 'alice2@example.com')"
        )

    with pytest.raises(MigrationError, match=r"ux_users_username_folded failed .*INVALID"):
        runner.upgrade(database_url, script_location=location)

    # The transactional part committed; the index is there but INVALID.
    assert runner.status(database_url, script_location=location).current == ("9998",)
    assert index_state(database_url, "ux_users_username_folded") is False

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DELETE FROM users WHERE username = 'Alice'")
    assert runner.upgrade(database_url, script_location=location) == []

    assert index_state(database_url, "ux_users_username_folded") is True


def test_a_malformed_concurrent_step_is_refused_before_anything_runs(
    database_url: str, tmp_path: Path
) -> None:
    body = UNIQUE_VERSION.replace('"ux_users_username_folded"', '"ux users; DROP TABLE users"')
    location = scripts_with(tmp_path, body)

    with pytest.raises(MigrationError, match="is not an identifier"):
        runner.upgrade(database_url, script_location=location)

    assert runner.status(database_url, script_location=location).current == (HEAD,)


@pytest.mark.parametrize(
    "columns", ["(expires_at)", " (lower(name)) WHERE x", "USING gin (user_id, search_vector)"]
)
def test_a_step_may_name_its_access_method(columns: str) -> None:
    step = ConcurrentIndex("ix_example", "recipes", columns)
    assert step.create_statement.endswith(f"ON recipes {columns}")


@pytest.mark.parametrize(
    "columns", ["gin (a)", "USING (a)", "USING gin;(a)", "USING gin (a); DROP TABLE users", "a"]
)
def test_other_column_clauses_are_refused(columns: str) -> None:
    with pytest.raises(MigrationError, match="columns must start with"):
        ConcurrentIndex("ix_example", "recipes", columns)
