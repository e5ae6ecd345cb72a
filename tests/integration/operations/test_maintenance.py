"""Maintenance tasks on a real PostgreSQL: each does its work once, then finds nothing to do."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.gdpr.jobs import LocalExportStore, S3ExportStore
from datalayer.operations.maintenance import DEFAULT_TASKS, TASKS, TaskResult, run_maintenance
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user
from tests.unit.observability.test_emitter import emf_emitter


async def sql(db: Database, *statements: str) -> None:
    async with db.write_engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def scalar(db: Database, statement: str) -> object:
    async with db.write_engine.connect() as connection:
        return await connection.scalar(text(statement))


def stored_files(store: LocalExportStore) -> list[str]:
    return sorted(path.name for path in store.directory.iterdir())


async def run_twice(db: Database, settings: Settings, task: str, **kwargs: object) -> list[int]:
    items = []
    for _ in range(2):
        (result,) = await run_maintenance(db, settings, [task], **kwargs)  # type: ignore[arg-type]
        assert result.ok, result.detail
        items.append(result.items)
    return items


async def test_partitions_are_made_ahead_and_a_default_row_moves_into_its_month(
    db: Database, settings: Settings
) -> None:
    await sql(
        db,
        "INSERT INTO system_logs (created_at, service, level, message) VALUES "
        "(date_trunc('month', now()) + interval '3 months 2 days', 'api', 'INFO', 'early')",
    )
    first, second = await run_twice(db, settings, "system_log_partitions")
    assert first >= 1 and second == 0
    assert await scalar(db, "SELECT count(*) FROM system_logs_default") == 0
    assert await scalar(db, "SELECT tableoid::regclass::text FROM system_logs") == (
        await scalar(db, "SELECT 'system_logs_' || to_char(now() + interval '3 months', 'YYYYMM')")
    )


async def test_partitions_past_retention_are_dropped_with_old_default_rows(
    db: Database, settings: Settings
) -> None:
    old = await scalar(
        db, "SELECT to_char(date_trunc('month', now()) - interval '14 months', 'YYYYMM')"
    )
    await sql(
        db,
        f"CREATE TABLE system_logs_{old} PARTITION OF system_logs FOR VALUES FROM "
        "(date_trunc('month', now()) - interval '14 months') "
        "TO (date_trunc('month', now()) - interval '13 months')",
        "INSERT INTO system_logs (created_at, service, level, message) VALUES "
        "(now() - interval '14 months', 'api', 'INFO', 'old, in its partition'), "
        "(now() - interval '20 months', 'api', 'INFO', 'old, in the default'), "
        "(now() - interval '11 months', 'api', 'INFO', 'within retention')",
    )
    first, second = await run_twice(db, settings, "system_log_retention")
    assert (first, second) == (2, 0)
    assert await scalar(db, f"SELECT to_regclass('system_logs_{old}')") is None
    assert await scalar(db, "SELECT string_agg(message, ',') FROM system_logs") == (
        "within retention"
    )


@pytest.mark.parametrize("table", ["user_sessions", "cache_entries"])
async def test_expired_rows_are_deleted_and_live_ones_kept(
    db: Database, settings: Settings, table: str
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    person = await populated_user(db, key)
    if table == "user_sessions":
        await sql(
            db,
            "DELETE FROM user_sessions",
            "INSERT INTO user_sessions (user_id, token_hash, created_at, expires_at) "
            f"SELECT '{person.user.id}', md5(n::text), now() - interval '2 days', "
            "now() + (CASE WHEN n <= 7 THEN interval '-1 day' ELSE interval '1 day' END) "
            "FROM generate_series(1, 10) AS n",
        )
    else:
        await sql(
            db,
            "INSERT INTO cache_entries (key, value, expires_at) "
            "SELECT 'k' || n, '{}', now() + (CASE WHEN n <= 7 THEN interval '-1 minute' "
            "ELSE interval '1 hour' END) FROM generate_series(1, 10) AS n",
        )
    task = "expired_sessions" if table == "user_sessions" else "expired_cache_entries"
    assert await run_twice(db, settings, task) == [7, 0]
    assert await scalar(db, f"SELECT count(*) FROM {table}") == 3


async def test_expired_exports_lose_their_file_and_are_marked_expired(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    person = await populated_user(db, key)
    store = LocalExportStore(tmp_path / "exports")
    expired_file = Path(store.save("expired.json", b"{}"))
    current_file = Path(store.save("current.json", b"{}"))
    await sql(
        db,
        "DELETE FROM data_export_requests",
        "INSERT INTO data_export_requests (user_id, status, completed_at, expires_at, location) "
        f"VALUES ('{person.user.id}', 'completed', now() - interval '31 days', "
        f"now() - interval '1 day', '{expired_file}'), "
        f"('{person.user.id}', 'completed', now(), now() + interval '29 days', "
        f"'{current_file}')",
    )
    assert await run_twice(db, settings, "expired_exports", export_store=store) == [1, 0]
    assert stored_files(store) == ["current.json"]
    async with db.write_engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT status, location FROM data_export_requests ORDER BY expires_at")
            )
        ).all()
    assert [tuple(row) for row in rows] == [("expired", None), ("completed", str(current_file))]


async def test_stale_taste_profiles_are_recalculated(db: Database, settings: Settings) -> None:
    key = settings.audit_hash_key.get_secret_value()
    await populated_user(db, key)
    await sql(db, "UPDATE user_taste_profiles SET is_stale = true, stale_since = now()")
    assert await run_twice(db, settings, "taste_profiles") == [1, 0]
    assert await scalar(db, "SELECT count(*) FROM user_taste_profiles WHERE is_stale") == 0


async def test_an_invalid_index_is_rebuilt_and_a_bloated_one_too(
    db: Database, settings: Settings
) -> None:
    await sql(
        db,
        "INSERT INTO cache_entries (key, value, expires_at) SELECT 'key-' || n, '{}', "
        "now() + n * interval '1 second' FROM generate_series(1, 60000) AS n",
    )
    async with db.write_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        # A failed concurrent build (duplicate keys) leaves an INVALID index behind.
        await connection.execute(
            text("INSERT INTO cache_entries (key, value) VALUES ('KEY-1', '{}')")
        )
        with pytest.raises(Exception, match="UniqueViolation"):
            await connection.execute(
                text(
                    "CREATE UNIQUE INDEX CONCURRENTLY ux_cache_folded ON cache_entries (lower(key))"
                )
            )
        await connection.execute(text("DELETE FROM cache_entries WHERE key = 'KEY-1'"))
        # Nine rows in ten gone and vacuumed: the B-trees' leaves are mostly empty.
        await connection.execute(text("DELETE FROM cache_entries WHERE right(key, 1) <> '0'"))
        await connection.execute(text("VACUUM cache_entries"))

    (result,) = await run_maintenance(db, settings, ["indexes"])

    assert result.ok, result.detail
    assert result.figures["invalid"] == ["ux_cache_folded"]
    assert "ix_cache_entries_expires_at" in result.figures["bloated"]
    assert set(result.figures["rebuilt"]) >= {"ux_cache_folded", "ix_cache_entries_expires_at"}
    assert await scalar(db, "SELECT bool_and(indisvalid) FROM pg_index") is True
    (again,) = await run_maintenance(db, settings, ["indexes"])
    assert again.items == 0


async def test_statistics_report_totals_tables_and_indexes(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    await populated_user(db, key)
    (result,) = await run_maintenance(db, settings, ["statistics"])
    assert result.ok
    assert result.figures["totals"]["users"] == 1
    assert result.figures["totals"]["recipes"] == 1
    assert {row["name"] for row in result.figures["tables"]} >= {"users", "recipes"}
    assert "ix_recipe_embeddings_embedding_hnsw" in {i["name"] for i in result.figures["indexes"]}


async def test_every_task_runs_in_order_and_is_published(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    emitter, documents = emf_emitter()
    seen: list[str] = []
    results = await run_maintenance(
        db,
        settings,
        progress=lambda task, _position, _total: seen.append(task),
        export_store=LocalExportStore(tmp_path),
        emitter=emitter,
    )
    emitter.flush()

    # Every task but the opt-in ones (vector_tune), in order.
    assert seen == [result.task for result in results] == list(DEFAULT_TASKS)
    assert [task for task in TASKS if task not in DEFAULT_TASKS] == ["vector_tune"]
    assert all(isinstance(r, TaskResult) and r.ok for r in results), results
    tasks = {d["Task"] for d in documents if "Task" in d and "MaintenanceItems" in d}
    assert tasks == set(DEFAULT_TASKS)
    assert any(d.get("Job") == "maintenance" and "JobSucceeded" in d for d in documents)


async def test_an_unknown_task_is_refused(db: Database, settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="unknown maintenance task vacuum_full"):
        await run_maintenance(db, settings, ["analyze", "vacuum_full"])


async def test_expired_exports_in_s3_are_deleted_and_others_left_alone(
    db: Database, settings: Settings
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    person = await populated_user(db, key)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1", config=Config(signature_version="s3v4"))
        s3.create_bucket(
            Bucket="exports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        store = S3ExportStore(s3, "exports")
        location = store.save("expired.json", b"{}")
        await sql(
            db,
            "DELETE FROM data_export_requests",
            "INSERT INTO data_export_requests (user_id, status, completed_at, expires_at, "
            f"location) VALUES ('{person.user.id}', 'completed', now() - interval '31 days', "
            f"now() - interval '1 day', '{location}'), ('{person.user.id}', 'completed', "
            "now() - interval '31 days', now() - interval '1 day', '/elsewhere/local.json')",
        )
        (result,) = await run_maintenance(db, settings, ["expired_exports"], export_store=store)
        left = s3.list_objects_v2(Bucket="exports").get("KeyCount")
    assert result.ok and result.items == 1
    assert result.figures == {"other_store": 1}
    assert left == 0
    assert await scalar(
        db, "SELECT string_agg(status, ',' ORDER BY status) FROM data_export_requests"
    ) == ("completed,expired")
