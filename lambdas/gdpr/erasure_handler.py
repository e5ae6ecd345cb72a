"""SQS -> erasure job: each message ``{"user_id": "<uuid>"}`` erases one person.

The erasure runs in bounded transactions (``ERASURE_BATCH_SIZE`` rows each) and ends with
the verification scan; a run whose scan still finds rows fails the record, so SQS retries
it (erasure resumes where it stopped). A redelivery after success finds nothing left and
completes again. The subject is logged only as its keyed hash, never as the user id.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from datalayer.db import Database
from datalayer.errors import DataLayerError
from datalayer.gdpr.erasure import ErasureResult, erase_user
from datalayer.metric_names import Job
from datalayer.observability.emitter import metrics
from datalayer.settings import Settings, load_settings
from lambdas.gdpr.job import audit_key, configure_metrics, message_id, run_job

logger = Logger(service="gdpr-erasure")


class ErasureNotVerifiedError(DataLayerError):
    """The verification scan still found rows of the subject after an erasure run."""


def _erase_one(record: SQSRecord, settings: Settings, key: str) -> None:
    user_id = message_id(record, "user_id")

    async def work(db: Database) -> ErasureResult:
        result = await erase_user(db, user_id, key, batch_size=settings.erasure_batch_size)
        if not result.verified:
            raise ErasureNotVerifiedError(
                f"{sum(result.residual_rows.values())} rows of the subject remain"
            )
        return result

    result = run_job(Job.GDPR_ERASURE, settings, work)
    logger.info(
        "erasure verified",
        extra={"subject_hash": result.subject_hash, "rows_erased": result.total_erased},
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: object) -> PartialItemFailureResponse:
    """Process an SQS batch of erasure requests; returns the batch item failures."""
    settings = load_settings()
    configure_metrics(settings)
    key = audit_key(settings)
    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return process_partial_response(
            event=event,
            record_handler=lambda record: _erase_one(record, settings, key),
            processor=processor,
            context=context,  # type: ignore[arg-type]
        )
    finally:
        metrics.flush()
