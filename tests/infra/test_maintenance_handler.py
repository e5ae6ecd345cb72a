"""The maintenance Lambda handler over the real ``run_maintenance`` and the real (embedded)
PostgreSQL; moto plays Secrets Manager.

What the handler adds is tested here: credentials from the secret, the task list passed
through, bad input rejected before connecting, a failed task failing the invocation, and the
job metrics (EMF on stdout) counted once per invocation whatever happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from datalayer.errors import InvalidInputError, MaintenanceError
from lambdas.maintenance import handler as maintenance


@dataclass
class FakeContext:
    function_name: str = "recipe-test-maintenance"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:m"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def _secret(url: URL, password: str) -> str:
    return json.dumps(
        {"username": url.username, "password": password, "host": url.host,
         "port": url.port, "dbname": url.database, "engine": "postgres"}
    )  # fmt: skip


@pytest.fixture
def secret_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """The migrated test database behind a moto secret named by ``DATABASE_SECRET_ARN``."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "DATABASE_SSLMODE": "disable",
        "METRICS_BACKEND": "emf", "METRICS_ENVIRONMENT": "test",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    url = make_url(database_url)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="recipe/test/database/master", SecretString=_secret(url, url.password or "")
        )["ARN"]
        monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
        yield url


def _job_metrics(output: str) -> list[tuple[str, str]]:
    """Every (JobSucceeded|JobFailed, job) pair emitted, in order."""
    found = []
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    if metric["Name"] in {"JobSucceeded", "JobFailed"} and "Job" in document:
                        found.append((metric["Name"], document["Job"]))
    return found


def _last_analyze(url: URL, table: str) -> Any:
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :t"),
                {"t": table},
            ).scalar_one()
    finally:
        engine.dispose()


def test_runs_the_named_task_on_the_secrets_database(
    secret_database: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _last_analyze(secret_database, "users") is None
    answer = maintenance.handler({"tasks": ["analyze"]}, FakeContext())
    assert [(task["task"], task["ok"]) for task in answer["tasks"]] == [("analyze", True)]
    assert _last_analyze(secret_database, "users") is not None
    assert _job_metrics(capsys.readouterr().out) == [("JobSucceeded", "maintenance")]


def test_a_failed_task_fails_the_invocation_and_is_counted_once(
    secret_database: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    # vector_tune on a database without embeddings cannot measure anything: a real failure.
    with pytest.raises(MaintenanceError, match="vector_tune"):
        maintenance.handler({"tasks": ["analyze", "vector_tune"]}, FakeContext())
    assert _last_analyze(secret_database, "users") is not None  # the other task still ran
    assert _job_metrics(capsys.readouterr().out) == [("JobFailed", "maintenance")]


def test_bad_task_list_is_rejected_and_counted(
    secret_database: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidInputError):
        maintenance.handler({"tasks": "analyze"}, FakeContext())
    assert _last_analyze(secret_database, "users") is None
    assert _job_metrics(capsys.readouterr().out) == [("JobFailed", "maintenance")]


def test_a_database_it_cannot_reach_is_counted_as_a_failure(
    secret_database: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="recipe/test/database/master", SecretString=_secret(secret_database, "wrong")
    )
    # Connecting is lazy, so the task is what fails; the invocation fails with it.
    with pytest.raises(MaintenanceError, match="analyze"):
        maintenance.handler({"tasks": ["analyze"]}, FakeContext())
    assert _last_analyze(secret_database, "users") is None
    assert _job_metrics(capsys.readouterr().out) == [("JobFailed", "maintenance")]
