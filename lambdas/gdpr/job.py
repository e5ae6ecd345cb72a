"""What the export and erasure handlers share: settings, the audit key, one run per message.

Each SQS record is one run: ``asyncio.run`` creates the :class:`~datalayer.db.Database`,
awaits the datalayer job and disposes the engines, so nothing async outlives the run and
a frozen-and-thawed Lambda container never reuses a connection from an old event loop.
Credentials come from ``DATABASE_SECRET_ARN`` (fetched once per container, re-fetched when
the server rejects a rotated password). Records that fail are reported back to SQS as
batch item failures; the others are deleted. The jobs are idempotent, so a redelivery
(retry after a failure or a timeout) does no harm.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from datalayer.db import Database
from datalayer.db.credentials import audit_hash_key, credentials_provider
from datalayer.errors import ConfigurationError, InvalidInputError
from datalayer.metric_names import Job
from datalayer.observability.emf import EmfBackend
from datalayer.observability.emitter import metrics
from datalayer.observability.jobs import job_run
from datalayer.settings import Settings

T = TypeVar("T")


def configure_metrics(settings: Settings) -> None:
    """Send the datalayer's metrics to CloudWatch EMF with this environment's dimension."""
    metrics.configure(EmfBackend(), environment=settings.metrics_environment)


def audit_key(settings: Settings) -> str:
    """The audit HMAC key (see :func:`datalayer.db.credentials.audit_hash_key`)."""
    return audit_hash_key(settings)


def database_url(settings: Settings) -> str:
    """The primary's URL from the secret (the password is installed per connection)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    credentials = credentials_provider(settings)
    if credentials is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    return credentials.url(settings.database_sslmode)


def message_id(record: SQSRecord, field: str) -> uuid.UUID:
    """The UUID under ``field`` of the record's JSON body (``InvalidInputError`` otherwise)."""
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        raise InvalidInputError("message body is not JSON", field="body") from None
    value = body.get(field) if isinstance(body, dict) else None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInputError(f"message has no valid {field}", field=field) from None


def run_job(job: Job, settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on a fresh Database inside its own event loop, counted as one job run."""

    async def run() -> T:
        database = Database.connect(database_url(settings), settings, read_urls=[])
        try:
            return await work(database)
        finally:
            await database.dispose()

    with job_run(job):
        return asyncio.run(run())
