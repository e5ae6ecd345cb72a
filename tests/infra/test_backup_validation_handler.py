"""The restore-drill validation against real PostgreSQL databases.

The live database and the "restored" copy are two databases on the test server: the copy is
made from the live one (``CREATE DATABASE ... TEMPLATE``) before a person is erased live, as
a backup taken before the erasure would be. moto plays Secrets Manager, SSM and RDS (the
password reset on the restore-test instance). Two stand-ins, said plainly: moto has no
restore jobs, so a recording object plays the AWS Backup client (``DescribeRestoreJob`` and
``PutRestoreValidationResult``); and moto's instance endpoint does not resolve, so after the
real password reset on moto the test points the drill at the local copy.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg import sql
from sqlalchemy.engine import make_url

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.ledger import subjects_present
from datalayer.observability import metrics
from datalayer.observability.emf import EmfBackend
from datalayer.settings import Settings, load_settings
from lambdas.backup_validation.handler import (
    AwsClients,
    OpenInstance,
    report_drill_age,
    validate_restore_job,
)
from lambdas.backup_validation.restored import RestoredInstance, open_restored_instance
from tests.integration.gdpr.support import populated_user
from tests.services import PostgresHarness

PARAMETER = "/recipe/test/restore-drill/last-passed"
INSTANCE = "awsbackup-restore-test-0123456789"
STARTED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass
class RecordingBackup:
    """Stand-in for the AWS Backup client (moto implements no restore jobs)."""

    job: dict[str, Any]
    results: list[tuple[str, str]] = field(default_factory=list)

    def describe_restore_job(self, RestoreJobId: str) -> dict[str, Any]:
        assert RestoreJobId == self.job["RestoreJobId"]
        return self.job

    def put_restore_validation_result(
        self,
        RestoreJobId: str,
        ValidationStatus: str,
        ValidationStatusMessage: str,
    ) -> None:
        assert RestoreJobId == self.job["RestoreJobId"]
        self.results.append((ValidationStatus, ValidationStatusMessage))


def restore_job(*, by_plan: bool = True) -> dict[str, Any]:
    job = {
        "RestoreJobId": "job-1",
        "Status": "COMPLETED",
        "CreationDate": STARTED,
        "CompletionDate": STARTED + timedelta(minutes=25),
        "RecoveryPointCreationDate": STARTED - timedelta(days=2),
        "CreatedResourceArn": f"arn:aws:rds:us-east-1:123456789012:db:{INSTANCE}",
    }
    if by_plan:
        job["CreatedBy"] = {"RestoreTestingPlanArn": "arn:aws:backup:us-east-1:1:plan/x"}
    return job


EVENT = {"source": "aws.backup", "detail": {"restoreJobId": "job-1", "status": "COMPLETED"}}


@dataclass
class Drill:
    settings: Settings
    live_url: str
    copy_url: str
    erased: Any
    clients: AwsClients
    backup: RecordingBackup
    emf: list[dict[str, Any]]


@pytest.fixture
async def drill(
    postgres: PostgresHarness,
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    key = settings.audit_hash_key.get_secret_value()
    live = Database.connect(database_url, settings)
    person = await populated_user(live, key)
    await live.dispose()
    copy_name = f"copy_{database_url.rsplit('/', 1)[1]}"
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy_name), sql.Identifier(database_url.rsplit("/", 1)[1])
            )
        )
    live = Database.connect(database_url, settings)
    await erase_user(live, person.user.id, key)  # erased after the "backup" was taken
    await live.dispose()
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    url = make_url(database_url)
    emf: list[dict[str, Any]] = []
    try:
        with (
            mock_aws(),
            metrics.use(EmfBackend(lambda line: emf.append(json.loads(line))), environment="test"),
        ):
            secret = boto3.client("secretsmanager").create_secret(
                Name="recipe/test/database/master",
                SecretString=json.dumps(
                    {"username": url.username, "password": url.password or "", "host": url.host,
                     "port": url.port, "dbname": url.database, "engine": "postgres"}
                ),
            )["ARN"]  # fmt: skip
            ssm = boto3.client("ssm")
            ssm.put_parameter(Name=PARAMETER, Value="never", Type="String")
            rds = boto3.client("rds")
            rds.create_db_instance(
                DBInstanceIdentifier=INSTANCE, DBInstanceClass="db.t3.medium", Engine="postgres",
                MasterUsername="recipe_admin", MasterUserPassword="snapshot-era-password",
                AllocatedStorage=20,
            )  # fmt: skip
            backup = RecordingBackup(restore_job())
            yield Drill(
                settings=load_settings(
                    database_secret_arn=secret,
                    database_sslmode="disable",
                    restore_drill_status_parameter=PARAMETER,
                    database_pool_size=2,
                ),
                live_url=database_url,
                copy_url=str(
                    make_url(database_url)
                    .set(database=copy_name)
                    .render_as_string(hide_password=False)
                ),
                erased=person,
                clients=AwsClients(backup, rds, ssm),
                backup=backup,
                emf=emf,
            )
    finally:
        postgres.drop_database(postgres.url(copy_name))


def local_copy(drill: Drill) -> OpenInstance:
    """Reset the password on moto's instance (the real code), then connect to the copy."""
    copy = make_url(drill.copy_url)

    def open_instance(rds: Any, arn: str) -> RestoredInstance:
        restored = open_restored_instance(rds, arn, poll_s=0)
        assert restored.identifier == INSTANCE and restored.username == "recipe_admin"
        assert len(restored.password) >= 32 and restored.password not in repr(restored)
        return replace(
            restored, host=str(copy.host), port=int(copy.port or 5432),
            username=str(copy.username), password=copy.password or "",
            database=str(copy.database),
        )  # fmt: skip

    return open_instance


def emitted(drill: Drill) -> dict[str, list[tuple[dict[str, str], float]]]:
    metrics.flush()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for document in drill.emf:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                dims = {n: document[n] for names in directive["Dimensions"] for n in names}
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.setdefault(metric["Name"], []).append((dims, value))
    return found


async def test_a_passing_drill_erases_the_returning_person_and_reports_rto_and_rpo(
    drill: Drill,
) -> None:
    key = drill.settings.audit_hash_key.get_secret_value()
    result = await asyncio.to_thread(
        validate_restore_job, EVENT, drill.settings, drill.clients, open_instance=local_copy(drill)
    )

    assert result["passed"], result["failed_checks"]
    assert result["reapplied_erasures"] == 1
    assert result["rpo_s"] == 2 * 86_400  # recovery point two days old at restore
    assert result["restore_s"] == 25 * 60
    assert result["rto_s"] == pytest.approx(25 * 60 + result["validate_s"])
    assert [status for status, _ in drill.backup.results] == ["VALIDATING", "SUCCESSFUL"]
    assert "passed" in drill.backup.results[-1][1]
    stamp = drill.clients.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    assert datetime.fromisoformat(stamp) > STARTED
    copy = Database.connect(drill.copy_url, drill.settings)
    try:
        async with copy.write_engine.connect() as connection:
            hashes = {subject_hash(drill.erased.user.id, key)}
            assert await subjects_present(connection, hashes, key) == []
    finally:
        await copy.dispose()
    figures = emitted(drill)
    assert figures["RestoreDrillRpo"] == [({"Environment": "test"}, 2 * 86_400)]
    assert figures["RestoreDrillRto"][0][1] == result["rto_s"]
    assert ({"Environment": "test", "Job": "backup-validation"}, 1) in figures["JobSucceeded"]


async def test_a_failing_check_is_reported_failed_and_keeps_the_last_pass(drill: Drill) -> None:
    with psycopg.connect(drill.copy_url, autocommit=True) as connection:
        connection.execute("DROP TRIGGER trg_audit_logs_append_only ON audit_logs")

    result = await asyncio.to_thread(
        validate_restore_job, EVENT, drill.settings, drill.clients, open_instance=local_copy(drill)
    )

    assert not result["passed"]
    assert result["failed_checks"] == ["append-only audit triggers"]
    status, message = drill.backup.results[-1]
    assert status == "FAILED" and "append-only audit triggers" in message
    assert drill.clients.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "never"
    assert ({"Environment": "test", "Job": "backup-validation"}, 1) in emitted(drill)["JobFailed"]


async def test_an_error_is_reported_failed_without_details(drill: Drill) -> None:
    def unreachable(rds: Any, arn: str) -> RestoredInstance:
        return replace(local_copy(drill)(rds, arn), port=1, password="wrong-password-here")

    with pytest.raises(Exception) as error:
        await asyncio.to_thread(
            validate_restore_job, EVENT, drill.settings, drill.clients, open_instance=unreachable
        )
    status, message = drill.backup.results[-1]
    assert status == "FAILED"
    assert message == f"validation error: {type(error.value).__name__}"
    assert "wrong-password-here" not in message


async def test_restores_not_started_by_the_plan_are_left_alone(drill: Drill) -> None:
    drill.backup.job = restore_job(by_plan=False)
    result = await asyncio.to_thread(
        validate_restore_job, EVENT, drill.settings, drill.clients, open_instance=local_copy(drill)
    )
    assert result == {"restore_job_id": "job-1", "skipped": "not a restore test"}
    assert drill.backup.results == []


async def test_only_restore_test_instances_get_a_new_password(drill: Drill) -> None:
    from datalayer.errors import NotFoundError

    with pytest.raises(NotFoundError):
        open_restored_instance(drill.clients.rds, "arn:aws:rds:us-east-1:1:db:recipe-test-primary")


async def test_the_age_report_publishes_only_after_a_pass(drill: Drill) -> None:
    assert report_drill_age(drill.settings, drill.clients.ssm) == {"age_s": None}
    assert "RestoreDrillAge" not in emitted(drill)
    drill.clients.ssm.put_parameter(
        Name=PARAMETER, Value=STARTED.isoformat(), Type="String", Overwrite=True
    )
    answer = report_drill_age(drill.settings, drill.clients.ssm, now=STARTED + timedelta(days=40))
    assert answer["age_s"] == 40 * 86_400
    assert emitted(drill)["RestoreDrillAge"] == [({"Environment": "test"}, 40 * 86_400)]
