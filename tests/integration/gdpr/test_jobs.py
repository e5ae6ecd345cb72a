"""The export job: lifecycle, idempotency, local files 0600, S3 with KMS (moto)."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.gdpr.jobs import (
    LocalExportStore,
    S3ExportStore,
    export_status,
    process_export_request,
)
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user


async def request_export(
    db: Database, settings: Settings, export_format: str
) -> tuple[uuid.UUID, uuid.UUID]:
    key = settings.audit_hash_key.get_secret_value()
    graph = await populated_user(db, key)
    request_id = await UserRepository(db, settings).request_data_export(
        graph.user.id, export_format
    )
    return graph.user.id, request_id


async def test_export_request_goes_from_pending_to_completed_once(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    user_id, request_id = await request_export(db, settings, "json")
    assert (await export_status(db, user_id, request_id)).status == "pending"
    store = LocalExportStore(tmp_path / "exports")
    key = settings.audit_hash_key.get_secret_value()

    done = await process_export_request(db, request_id, store, key)

    assert done.status == "completed" and done.error is None
    assert done.completed_at is not None and done.expires_at is not None
    assert (done.expires_at - done.completed_at).days == 30
    path = Path(str(done.location))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # noqa: ASYNC240
    document = json.loads(path.read_bytes())  # noqa: ASYNC240
    assert document["data"]["users"][0]["id"] == str(user_id)
    assert document["manifest"]["tables"]["data_export_requests"] == 2

    again = await process_export_request(db, request_id, store, key)
    assert again == done  # a retried job changes nothing
    async with db.write_engine.connect() as connection:
        generated = await connection.scalar(
            text("SELECT count(*) FROM audit_logs WHERE action = 'gdpr.export_generated'")
        )
    assert generated == 1


async def test_status_is_private_to_the_requesting_user(db: Database, settings: Settings) -> None:
    _, request_id = await request_export(db, settings, "json")
    with pytest.raises(NotFoundError):
        await export_status(db, uuid.uuid4(), request_id)


async def test_a_failed_export_is_visible_and_retryable(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    user_id, request_id = await request_export(db, settings, "csv")
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    key = settings.audit_hash_key.get_secret_value()
    with pytest.raises(OSError):
        await process_export_request(db, request_id, LocalExportStore(blocked), key)
    failed = await export_status(db, user_id, request_id)
    assert failed.status == "failed" and failed.error in ("FileExistsError", "NotADirectoryError")
    done = await process_export_request(db, request_id, LocalExportStore(tmp_path / "ok"), key)
    assert done.status == "completed" and str(done.location).endswith(".zip")


async def test_s3_store_encrypts_with_kms_and_presigns(db: Database, settings: Settings) -> None:
    user_id, request_id = await request_export(db, settings, "json")
    with mock_aws():
        # SigV4: S3 refuses other signatures for objects encrypted with KMS.
        s3 = boto3.client("s3", region_name="eu-west-1", config=Config(signature_version="s3v4"))
        s3.create_bucket(
            Bucket="exports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        kms = boto3.client("kms", region_name="eu-west-1")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        store = S3ExportStore(s3, "exports", key_id)
        done = await process_export_request(
            db, request_id, store, settings.audit_hash_key.get_secret_value()
        )
        head = s3.head_object(Bucket="exports", Key=f"{request_id}.json")
        body = s3.get_object(Bucket="exports", Key=f"{request_id}.json")["Body"].read()
        url = store.download_url(str(done.location))
    assert done.location == f"s3://exports/{request_id}.json"
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]
    assert "X-Amz-Expires=900" in url and f"{request_id}.json" in url
    # The whole document, although the export hands the store its parts.
    assert json.loads(body)["data"]["users"][0]["id"] == str(user_id)
