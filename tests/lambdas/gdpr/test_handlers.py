"""The export and erasure handlers over a real PostgreSQL; moto plays S3, SQS, KMS, Secrets.

The handlers are called synchronously, as Lambda does: each record runs its own
``asyncio.run``, so the tests are plain functions and prepare data in their own loops.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.gdpr.erasure import verify_erasure
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings
from lambdas.gdpr import erasure_handler, export_handler
from tests.integration.gdpr.support import populated_user

T = TypeVar("T")
AUDIT_KEY = "handler-test-audit-key-0123456789"
BUCKET = "recipe-test-exports"


@dataclass
class FakeContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "recipe-test-gdpr"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:recipe-test-gdpr"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass
class Aws:
    """The mocked account: the exports key, the queue the messages travel through."""

    kms_key_arn: str
    queue_url: str

    def event(self, *bodies: str) -> dict[str, Any]:
        """Send ``bodies`` through the queue and return them as Lambda's SQS event."""
        sqs = boto3.client("sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        received = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )["Messages"]
        assert len(received) == len(bodies)
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn["Attributes"]["QueueArn"],
                    "awsRegion": "us-east-1",
                }
                for message in received
            ]
        }


@pytest.fixture
def aws(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Secrets (database, audit key), the KMS exports key, the bucket and a queue."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DATABASE_SSLMODE": "disable",  # the local server has no certificate
        "METRICS_ENVIRONMENT": "test",
        "EXPORTS_BUCKET": BUCKET,
        "ERASURE_BATCH_SIZE": "3",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = make_url(database_url)
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        database_secret = secrets.create_secret(
            Name="recipe/test/database/app",
            SecretString=json.dumps(
                {
                    "username": url.username,
                    "password": url.password or "",
                    "host": url.host,
                    "port": url.port,
                    "dbname": url.database,
                }
            ),
        )["ARN"]
        audit_secret = secrets.create_secret(
            Name="recipe/test/gdpr/audit-hash-key", SecretString=json.dumps({"key": AUDIT_KEY})
        )["ARN"]
        key_arn = boto3.client("kms").create_key(Description="exports")["KeyMetadata"]["Arn"]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        queue_url = boto3.client("sqs").create_queue(QueueName="recipe-test-gdpr")["QueueUrl"]
        monkeypatch.setenv("DATABASE_SECRET_ARN", database_secret)
        monkeypatch.setenv("AUDIT_HASH_KEY_SECRET_ARN", audit_secret)
        monkeypatch.setenv("EXPORTS_KMS_KEY_ID", key_arn)
        yield Aws(kms_key_arn=key_arn, queue_url=queue_url)


def on_database(
    database_url: str, settings: Settings, work: Callable[[Database], Awaitable[T]]
) -> T:
    async def run() -> T:
        database = Database.connect(database_url, settings, read_urls=[])
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def export_requested(database_url: str, settings: Settings) -> uuid.UUID:
    async def work(db: Database) -> uuid.UUID:
        graph = await populated_user(db, AUDIT_KEY)
        return await UserRepository(db, settings).request_data_export(graph.user.id, "json")

    return on_database(database_url, settings, work)


def user_created(database_url: str, settings: Settings) -> uuid.UUID:
    async def work(db: Database) -> uuid.UUID:
        return (await populated_user(db, AUDIT_KEY)).user.id

    return on_database(database_url, settings, work)


def request_row(database_url: str, settings: Settings, request_id: uuid.UUID) -> dict[str, Any]:
    async def work(db: Database) -> dict[str, Any]:
        async with db.transaction() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT status, location, error, completed_at, expires_at "
                        "FROM data_export_requests WHERE id = :id"
                    ),
                    {"id": request_id},
                )
            ).one()
        return dict(row._mapping)

    return on_database(database_url, settings, work)


def residual(database_url: str, settings: Settings, user_id: uuid.UUID) -> int:
    async def work(db: Database) -> int:
        return sum((await verify_erasure(db, user_id)).values())

    return on_database(database_url, settings, work)


def ledger_completed(database_url: str, settings: Settings) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as session:
            count = await session.scalar(
                text("SELECT count(*) FROM erasure_ledger WHERE completed_at IS NOT NULL")
            )
        return int(count or 0)

    return on_database(database_url, settings, work)


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents the handler printed."""
    documents = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def job_counts(documents: list[dict[str, Any]], job: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for document in documents:
        if document.get("Job") != job:
            continue
        for name in ("JobSucceeded", "JobFailed"):
            if name in document:
                value = document[name]
                counts[name] = counts.get(name, 0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return counts


def test_an_export_message_completes_the_request_into_the_encrypted_bucket(
    aws: Aws, database_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = export_requested(database_url, settings)

    response = export_handler.handler(
        aws.event(json.dumps({"request_id": str(request_id)})), FakeContext()
    )

    assert response == {"batchItemFailures": []}
    row = request_row(database_url, settings, request_id)
    assert row["status"] == "completed" and row["error"] is None
    key = f"exports/{request_id}.json"
    assert row["location"] == f"s3://{BUCKET}/{key}"
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == aws.kms_key_arn
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert json.loads(body)["manifest"]["tables"]["users"] == 1
    assert job_counts(emitted(capsys), "gdpr-export") == {"JobSucceeded": 1}


def test_a_redelivered_export_message_changes_nothing(
    aws: Aws, database_url: str, settings: Settings
) -> None:
    request_id = export_requested(database_url, settings)
    body = json.dumps({"request_id": str(request_id)})
    export_handler.handler(aws.event(body), FakeContext())
    first = request_row(database_url, settings, request_id)
    s3 = boto3.client("s3")
    key = f"exports/{request_id}.json"
    version = s3.head_object(Bucket=BUCKET, Key=key)["LastModified"]

    response = export_handler.handler(aws.event(body), FakeContext())

    assert response == {"batchItemFailures": []}
    assert request_row(database_url, settings, request_id) == first
    assert s3.head_object(Bucket=BUCKET, Key=key)["LastModified"] == version
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 1


def test_poison_export_messages_fail_alone(
    aws: Aws, database_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = export_requested(database_url, settings)
    event = aws.event(
        "not json",
        json.dumps({"request_id": "not-a-uuid"}),
        json.dumps({"request_id": str(uuid.uuid4())}),  # no such request
        json.dumps({"request_id": str(request_id)}),
    )
    ids = {record["body"]: record["messageId"] for record in event["Records"]}

    response = export_handler.handler(event, FakeContext())

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert failed == {ids[body] for body in ids if str(request_id) not in body}
    assert request_row(database_url, settings, request_id)["status"] == "completed"
    # The two unparsable bodies never start a run; the unknown request does, and fails.
    assert job_counts(emitted(capsys), "gdpr-export") == {"JobSucceeded": 1, "JobFailed": 1}


def test_an_erasure_message_erases_and_verifies(
    aws: Aws, database_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    user_id = user_created(database_url, settings)
    kept = user_created(database_url, settings)

    response = erasure_handler.handler(
        aws.event(json.dumps({"user_id": str(user_id)})), FakeContext()
    )

    assert response == {"batchItemFailures": []}
    assert residual(database_url, settings, user_id) == 0
    assert residual(database_url, settings, kept) > 0
    assert ledger_completed(database_url, settings) == 1
    output = capsys.readouterr().out
    assert str(user_id) not in output  # logged as its subject hash only
    documents = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    assert job_counts(documents, "gdpr-erasure") == {"JobSucceeded": 1}


def test_a_redelivered_erasure_message_is_harmless(
    aws: Aws, database_url: str, settings: Settings
) -> None:
    user_id = user_created(database_url, settings)
    body = json.dumps({"user_id": str(user_id)})
    erasure_handler.handler(aws.event(body), FakeContext())

    response = erasure_handler.handler(aws.event(body), FakeContext())

    assert response == {"batchItemFailures": []}
    assert residual(database_url, settings, user_id) == 0
    assert ledger_completed(database_url, settings) == 1


def test_a_poison_erasure_message_fails_while_the_others_succeed(
    aws: Aws, database_url: str, settings: Settings
) -> None:
    first, second = (user_created(database_url, settings) for _ in range(2))
    event = aws.event(
        json.dumps({"user_id": str(first)}),
        json.dumps({"user": "missing field"}),
        json.dumps({"user_id": str(uuid.uuid4())}),  # never existed: NotFoundError
        json.dumps({"user_id": str(second)}),
    )
    poison = {
        record["messageId"]
        for record in event["Records"]
        if str(first) not in record["body"] and str(second) not in record["body"]
    }

    response = erasure_handler.handler(event, FakeContext())

    assert {item["itemIdentifier"] for item in response["batchItemFailures"]} == poison
    assert residual(database_url, settings, first) == 0
    assert residual(database_url, settings, second) == 0
    assert ledger_completed(database_url, settings) == 2
