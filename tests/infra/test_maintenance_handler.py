"""The maintenance Lambda handler against the real (embedded) PostgreSQL; moto plays Secrets
Manager.

``run_maintenance`` is written in parallel on another branch, so this test installs a
stand-in module with the agreed signature (``run_maintenance(db, settings, tasks, *,
progress=None) -> list[TaskResult]``) that runs a real ``ANALYZE`` through the database the
handler connected to. The handler's own behaviour is what is tested: credentials from the
secret, the task list passed through, bad input rejected before connecting, results and the
job metrics (EMF on stdout).
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.settings import Settings
from lambdas.maintenance import handler as maintenance


@dataclass
class FakeContext:
    function_name: str = "recipe-test-maintenance"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:m"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class TaskResult:
    name: str
    database: str
    actions: list[str] = field(default_factory=list)


@dataclass
class StandIn:
    calls: list[Sequence[str] | None] = field(default_factory=list)
    fail: bool = False

    async def run_maintenance(
        self, db: Database, settings: Settings, tasks: Sequence[str] | None = None, *,
        progress: Any = None,
    ) -> list[TaskResult]:  # fmt: skip
        self.calls.append(tasks)
        if self.fail:
            raise RuntimeError("partition creation failed")
        async with db.write_engine.connect() as connection:
            name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
            await connection.execute(text("ANALYZE users"))
            await connection.commit()
        return [TaskResult("analyze", name, ["ANALYZE users"])]


@pytest.fixture
def stand_in(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StandIn, str]]:
    fake = StandIn()
    module = types.ModuleType("datalayer.operations.maintenance")
    module.run_maintenance = fake.run_maintenance  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datalayer.operations.maintenance", module)
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "DATABASE_SSLMODE": "disable",
        "METRICS_BACKEND": "emf", "METRICS_ENVIRONMENT": "test",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    url = make_url(database_url)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="recipe/test/database/master",
            SecretString=json.dumps(
                {"username": url.username, "password": url.password or "", "host": url.host,
                 "port": url.port, "dbname": url.database, "engine": "postgres"}
            ),
        )["ARN"]  # fmt: skip
        monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
        yield fake, str(url.database)


def _job_metrics(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    if metric["Name"] in {"JobSucceeded", "JobFailed"} and "Job" in document:
                        found[metric["Name"]] = document["Job"]
    return found


def test_runs_the_named_tasks_on_the_secrets_database(
    stand_in: tuple[StandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, database = stand_in
    answer = maintenance.handler({"tasks": ["analyze"]}, FakeContext())
    assert fake.calls == [["analyze"]]
    assert answer == {
        "tasks": [{"name": "analyze", "database": database, "actions": ["ANALYZE users"]}]
    }
    assert _job_metrics(capsys.readouterr().out) == {"JobSucceeded": "maintenance"}


def test_no_event_runs_every_task(stand_in: tuple[StandIn, str]) -> None:
    fake, _ = stand_in
    maintenance.handler({}, FakeContext())
    assert fake.calls == [None]


def test_bad_task_list_is_rejected_before_connecting(stand_in: tuple[StandIn, str]) -> None:
    fake, _ = stand_in
    with pytest.raises(InvalidInputError):
        maintenance.handler({"tasks": "analyze"}, FakeContext())
    assert fake.calls == []


def test_a_failed_run_is_counted_and_raised(
    stand_in: tuple[StandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, _ = stand_in
    fake.fail = True
    with pytest.raises(RuntimeError):
        maintenance.handler(None, FakeContext())
    assert _job_metrics(capsys.readouterr().out) == {"JobFailed": "maintenance"}
