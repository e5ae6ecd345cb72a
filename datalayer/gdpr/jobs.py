"""The export job: a requested export goes pending -> processing -> completed (or failed).

A completed export is stored once and kept for 30 days (``expires_at``); locally as a file
readable by its owner only (mode 0600), in AWS in the KMS-encrypted exports bucket, from
which the user gets a short-lived presigned URL. Running the job again for a request that
is already completed changes nothing, so a retried queue message is harmless.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text

from datalayer.audit import AuditTrail
from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.gdpr.export import collect_user_data
from datalayer.schemas.common import as_uuid

RETENTION = timedelta(days=30)
PRESIGNED_URL_TTL_S = 900


class ExportStore(Protocol):
    """Where finished exports go: :class:`LocalExportStore` or :class:`S3ExportStore`."""

    def save(self, name: str, body: bytes | Sequence[bytes]) -> str:
        """Store ``body`` (bytes, or consecutive parts of it) under ``name``; returns its
        location."""
        ...

    def delete(self, location: str) -> None:
        """Remove what :meth:`save` stored at ``location`` (nothing when already gone);
        :class:`InvalidInputError` for a location this store does not own."""
        ...


class LocalExportStore:
    """Files in a directory, each readable and writable by its owner only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, name: str, body: bytes | Sequence[bytes]) -> str:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.writelines(_parts(body))
        return str(path)

    def delete(self, location: str) -> None:
        path = Path(location)
        if path.resolve().parent != self.directory.resolve():
            raise InvalidInputError("the export is not in this store", field="location")
        path.unlink(missing_ok=True)


class S3ExportStore:
    """Objects in the exports bucket, encrypted with its KMS key.

    ``client`` must sign with SigV4 (``Config(signature_version="s3v4")``): S3 serves
    KMS-encrypted objects only to SigV4 presigned URLs. ``key_prefix`` (``exports/``) is
    prepended to every object key; the job's IAM policy is scoped to it.
    """

    def __init__(
        self, client: Any, bucket: str, kms_key_id: str | None = None, key_prefix: str = ""
    ) -> None:
        self._client = client
        self.bucket = bucket
        self._kms_key_id = kms_key_id
        self.key_prefix = key_prefix

    def save(self, name: str, body: bytes | Sequence[bytes]) -> str:
        extra: dict[str, str] = {"ServerSideEncryption": "aws:kms"}
        if self._kms_key_id:
            extra["SSEKMSKeyId"] = self._kms_key_id
        key = self.key_prefix + name
        whole = b"".join(_parts(body))  # one PUT needs one body
        self._client.put_object(Bucket=self.bucket, Key=key, Body=whole, **extra)
        return f"s3://{self.bucket}/{key}"

    def delete(self, location: str) -> None:
        prefix = f"s3://{self.bucket}/"
        if not location.startswith(prefix) or len(location) == len(prefix):
            raise InvalidInputError("the export is not in this store", field="location")
        # DeleteObject succeeds for a missing key, so a repeated cleanup is harmless.
        self._client.delete_object(Bucket=self.bucket, Key=location.removeprefix(prefix))

    def download_url(self, location: str, expires_in_s: int = PRESIGNED_URL_TTL_S) -> str:
        """A presigned GET URL for an export this store saved."""
        key = location.removeprefix(f"s3://{self.bucket}/")
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in_s
        )
        return url


def _parts(body: bytes | Sequence[bytes]) -> Sequence[bytes]:
    return [body] if isinstance(body, bytes) else body


@dataclass(frozen=True)
class ExportStatus:
    """The visible state of one export request."""

    request_id: uuid.UUID
    user_id: uuid.UUID
    format: str
    status: str
    requested_at: datetime
    completed_at: datetime | None
    expires_at: datetime | None
    location: str | None
    error: str | None


_COLUMNS = (
    "id AS request_id, user_id, format, status, requested_at, completed_at, expires_at, "
    "location, error"
)


async def export_status(db: Database, user_id: uuid.UUID, request_id: uuid.UUID) -> ExportStatus:
    """The user's export request, or :class:`NotFoundError` (also for another user's)."""
    async with db.read_transaction() as session:
        row = (
            await session.execute(
                text(
                    f"SELECT {_COLUMNS} FROM data_export_requests "
                    "WHERE id = :request_id AND user_id = :user_id"
                ),
                {
                    "request_id": as_uuid(request_id, "request_id"),
                    "user_id": as_uuid(user_id, "user_id"),
                },
            )
        ).first()
    if row is None:
        raise NotFoundError("export request not found")
    return ExportStatus(**row._mapping)


async def process_export_request(
    db: Database, request_id: uuid.UUID, store: ExportStore, audit_key: str
) -> ExportStatus:
    """Run one export request to completion (idempotent: a completed request is returned)."""
    request_id = as_uuid(request_id, "request_id")
    params = {"request_id": request_id}
    async with db.transaction() as session:
        claimed = (
            await session.execute(
                text(
                    "UPDATE data_export_requests SET status = 'processing', error = NULL "
                    "WHERE id = :request_id AND status IN ('pending', 'processing', 'failed') "
                    "RETURNING user_id, format"
                ),
                params,
            )
        ).first()
    if claimed is None:
        return await _status(db, request_id)
    user_id, export_format = claimed
    audit = AuditTrail(audit_key, actor="gdpr.export")
    try:
        async with db.transaction() as session:
            # One consistent snapshot across all tables.
            connection = await session.connection(
                execution_options={"isolation_level": "REPEATABLE READ"}
            )
            export = await collect_user_data(connection, user_id, audit_key)
            await audit.record(
                session,
                "gdpr.export_generated",
                entity_type="data_export_request",
                entity_id=request_id,
                subject=user_id,
                details={"rows": export.manifest.rows, "format": export_format},
            )
        suffix = "json" if export_format == "json" else "zip"
        location = store.save(f"{request_id}.{suffix}", export.render(export_format))
    except Exception as exc:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "UPDATE data_export_requests SET status = 'failed', error = :error "
                    "WHERE id = :request_id"
                ),
                {**params, "error": type(exc).__name__},
            )
            await audit.record(
                session,
                "gdpr.export_failed",
                entity_type="data_export_request",
                entity_id=request_id,
                subject=user_id,
                details={"error": type(exc).__name__},
            )
        raise
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE data_export_requests SET status = 'completed', completed_at = now(), "
                "expires_at = now() + :retention, location = :location WHERE id = :request_id"
            ),
            {**params, "retention": RETENTION, "location": location},
        )
        # The compliance report counts these: the audit log outlives the request rows.
        await audit.record(
            session,
            "gdpr.export_completed",
            entity_type="data_export_request",
            entity_id=request_id,
            subject=user_id,
        )
    return await _status(db, request_id)


async def _status(db: Database, request_id: uuid.UUID) -> ExportStatus:
    async with db.transaction() as session:
        row = (
            await session.execute(
                text(f"SELECT {_COLUMNS} FROM data_export_requests WHERE id = :request_id"),
                {"request_id": request_id},
            )
        ).first()
    if row is None:
        raise NotFoundError("export request not found")
    return ExportStatus(**row._mapping)
