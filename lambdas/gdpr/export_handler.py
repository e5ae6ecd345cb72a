"""SQS -> export job: each message ``{"request_id": "<uuid>"}`` runs one export request.

The export is written to the exports bucket (``EXPORTS_BUCKET``, under ``EXPORTS_PREFIX``)
encrypted with ``EXPORTS_KMS_KEY_ID``; the request goes to ``completed`` with its
location and a 30-day ``expires_at``. A completed request is left as it is, so a
redelivered message is harmless. Failed records are returned as batch item failures.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.config import Config

from datalayer.db import Database
from datalayer.errors import ConfigurationError
from datalayer.gdpr.jobs import ExportStatus, S3ExportStore, process_export_request
from datalayer.metric_names import Job
from datalayer.observability.emitter import metrics
from datalayer.settings import Settings, load_settings
from lambdas.gdpr.job import audit_key, configure_metrics, message_id, run_job

logger = Logger(service="gdpr-export")


def export_store(settings: Settings) -> S3ExportStore:
    """The exports bucket as the datalayer's store (SigV4, for presigned URLs)."""
    if settings.exports_bucket is None:
        raise ConfigurationError("EXPORTS_BUCKET: not set")
    client = boto3.client("s3", config=Config(signature_version="s3v4"))
    return S3ExportStore(
        client,
        settings.exports_bucket,
        settings.exports_kms_key_id,
        key_prefix=settings.exports_prefix,
    )


def _export_one(record: SQSRecord, settings: Settings, store: S3ExportStore, key: str) -> None:
    request_id = message_id(record, "request_id")

    async def work(db: Database) -> ExportStatus:
        return await process_export_request(db, request_id, store, key)

    status = run_job(Job.GDPR_EXPORT, settings, work)
    logger.info(
        "export request processed",
        extra={"request_id": str(request_id), "status": status.status},
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: object) -> PartialItemFailureResponse:
    """Process an SQS batch of export requests; returns the batch item failures."""
    settings = load_settings()
    configure_metrics(settings)
    store = export_store(settings)
    key = audit_key(settings)
    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return process_partial_response(
            event=event,
            record_handler=lambda record: _export_one(record, settings, store, key),
            processor=processor,
            context=context,  # type: ignore[arg-type]
        )
    finally:
        metrics.flush()
