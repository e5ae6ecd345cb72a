"""Migrations against a real PostgreSQL: reversibility, drift, atomicity, concurrency."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from datalayer.errors import MigrationError
from datalayer.local.postgres import pg_binary
from datalayer.migrations import runner
from datalayer.migrations.history import HISTORY_TABLE


def schema_dump(url: str) -> str:
    result = subprocess.run(
        [str(pg_binary("pg_dump")), "--schema-only", "--restrict-key=datalayer", "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def version_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        history = connection.execute(
            f"SELECT id, revision, direction FROM {HISTORY_TABLE} ORDER BY id"
        ).fetchall()
    return [*versions, *history]


REVISIONS = runner.revisions()
HEAD = REVISIONS[-1]


def test_up_down_up_leaves_an_identical_schema(empty_database_url: str) -> None:
    assert runner.upgrade(empty_database_url) == REVISIONS
    first = schema_dump(empty_database_url)
    assert "CREATE TABLE public.recipes" in first

    assert runner.downgrade(empty_database_url, "base") == REVISIONS[::-1]
    emptied = schema_dump(empty_database_url)
    assert "CREATE TABLE public.recipes" not in emptied
    assert "FUNCTION public.set_updated_at" not in emptied

    assert runner.upgrade(empty_database_url) == REVISIONS
    assert schema_dump(empty_database_url) == first


def test_check_is_clean_after_upgrade_and_reports_drift(database_url: str) -> None:
    assert runner.check(database_url) == []
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DROP INDEX ix_recipes_cuisine_type")
        connection.execute("ALTER TABLE users ADD COLUMN nickname text")
    problems = runner.check(database_url)
    assert any("ix_recipes_cuisine_type" in problem for problem in problems)
    assert any("nickname" in problem for problem in problems)


def test_check_reports_pending_versions(empty_database_url: str) -> None:
    problems = runner.check(empty_database_url)
    assert problems[: len(REVISIONS)] == [f"pending migration {rev}" for rev in REVISIONS]


def test_check_reports_an_embedding_dimension_drift(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datalayer.settings import get_settings

    monkeypatch.setenv("EMBEDDING_DIM", "768")
    get_settings.cache_clear()
    try:
        problems = runner.check(database_url)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert problems == [
        "modify_type: recipe_embeddings.embedding: database VECTOR(1536), models VECTOR(768)"
    ]


DRIFTS = {
    "server default changed": (
        ["ALTER TABLE recipes ALTER COLUMN ai_status SET DEFAULT 'failed'"],
        "modify_default: recipes.ai_status: database 'failed'::character varying, models 'pending'",
    ),
    "server default dropped": (
        ["ALTER TABLE users ALTER COLUMN is_active DROP DEFAULT"],
        "modify_default: users.is_active: database None, models true",
    ),
    "check constraint dropped": (
        ["ALTER TABLE recipes DROP CONSTRAINT ck_recipes_servings_range"],
        "missing check constraint: recipes ck_recipes_servings_range",
    ),
    "check constraint added": (
        ["ALTER TABLE users ADD CONSTRAINT ck_users_extra CHECK (length(email) > 3)"],
        "unexpected check constraint: users ck_users_extra",
    ),
    "check constraint changed": (
        [
            "ALTER TABLE recipes DROP CONSTRAINT ck_recipes_difficulty_range",
            "ALTER TABLE recipes ADD CONSTRAINT ck_recipes_difficulty_range "
            "CHECK (difficulty BETWEEN 1 AND 10)",
        ],
        "check constraint differs: recipes ck_recipes_difficulty_range: "
        "CHECK (((difficulty >= 1) AND (difficulty <= 10))) "
        "(models: CHECK (((difficulty >= 1) AND (difficulty <= 5))))",
    ),
    "trigger dropped": (
        ["DROP TRIGGER trg_recipes_updated_at ON recipes"],
        "missing trigger: trg_recipes_updated_at",
    ),
    "trigger added": (
        [
            "CREATE TRIGGER trg_users_extra BEFORE UPDATE ON users "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        ],
        "unexpected trigger: trg_users_extra",
    ),
    "trigger disabled": (
        ["ALTER TABLE audit_logs DISABLE TRIGGER trg_audit_logs_append_only"],
        "disabled trigger: trg_audit_logs_append_only",
    ),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_check_reports_each_drift_kind(database_url: str, drift: str) -> None:
    statements, expected = DRIFTS[drift]
    with psycopg.connect(database_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)
    assert runner.check(database_url) == [expected]


def test_each_applied_version_is_audited(empty_database_url: str) -> None:
    runner.upgrade(empty_database_url)
    history = runner.history(empty_database_url)
    assert [(row["revision"], row["direction"]) for row in history] == [
        (revision, "upgrade") for revision in reversed(REVISIONS)
    ]
    assert history[0]["applied_by"] == "postgres"


FAILING_VERSION = '''
"""A version whose last step fails after it has changed the schema."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("doomed", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("users", sa.Column("doomed_flag", sa.Boolean))
    op.execute("INSERT INTO doomed (id) VALUES (1)")


def downgrade():
    op.drop_table("doomed")


def validate_upgrade(connection):
    raise RuntimeError("validation step failed on purpose")


def validate_downgrade(connection):
    pass
'''


@pytest.fixture
def scripts_with_failing_version(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9999_failing.py").write_text(FAILING_VERSION.replace("{head}", HEAD))
    return location


def test_a_version_failing_in_its_last_step_changes_nothing(
    database_url: str, scripts_with_failing_version: Path
) -> None:
    schema_before = schema_dump(database_url)
    versions_before = version_rows(database_url)

    with pytest.raises(RuntimeError, match="on purpose"):
        runner.upgrade(database_url, script_location=scripts_with_failing_version)

    assert schema_dump(database_url) == schema_before
    assert version_rows(database_url) == versions_before


def test_a_failure_in_a_later_version_rolls_back_the_whole_run(
    empty_database_url: str, scripts_with_failing_version: Path
) -> None:
    before = schema_dump(empty_database_url)
    with pytest.raises(RuntimeError):
        runner.upgrade(empty_database_url, script_location=scripts_with_failing_version)
    assert schema_dump(empty_database_url) == before


def test_a_version_without_validation_is_refused(
    database_url: str, scripts_with_failing_version: Path
) -> None:
    version = scripts_with_failing_version / "versions" / "9999_failing.py"
    text = version.read_text()
    version.write_text(text[: text.index("def validate_upgrade")])
    with pytest.raises(MigrationError, match="no validate_upgrade"):
        runner.upgrade(database_url, script_location=scripts_with_failing_version)
    assert runner.status(database_url).current == (HEAD,)


def test_concurrent_runners_apply_each_version_exactly_once(empty_database_url: str) -> None:
    # Separate processes, as in production (Alembic's context is process-global).
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    command = [sys.executable, "-m", "datalayer", "migrate", "up"]
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    applied = f"applied: {', '.join(REVISIONS)}"
    assert sorted(applied in output for output in outputs) == [False, True], outputs
    history = runner.history(empty_database_url)
    assert sorted((row["revision"], row["direction"]) for row in history) == [
        (revision, "upgrade") for revision in REVISIONS
    ]
    assert runner.status(empty_database_url).current == (HEAD,)


def test_downgrade_validation_checks_objects_are_gone(database_url: str) -> None:
    runner.downgrade(database_url, "base")
    assert runner.status(database_url).current == ()
    with psycopg.connect(database_url) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    assert tables == {"alembic_version", HISTORY_TABLE}
