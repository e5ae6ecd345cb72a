"""Run the datalayer's maintenance tasks; invoked nightly by an EventBridge schedule.

The event may name ``tasks`` (a list of task names; default: every task but the opt-in
``vector_tune``, which runs only when named, e.g. by a weekly event). The tasks are the
same as ``python -m datalayer maintenance run``; each is idempotent and reports what it did
as metrics (EMF, through the datalayer's metrics), so a re-run after a failure is safe.
Credentials come from the secret in ``DATABASE_SECRET_ARN``, fetched on every invocation.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, is_dataclass
from typing import Any

from aws_lambda_powertools import Logger

from datalayer.db import Database
from datalayer.db.credentials import credentials_provider
from datalayer.errors import ConfigurationError, InvalidInputError, MaintenanceError
from datalayer.metric_names import Job, Metric
from datalayer.observability import configure_metrics, metrics
from datalayer.operations.maintenance import run_maintenance
from datalayer.settings import Settings, load_settings

logger = Logger(service="maintenance")


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any] | None, context: object) -> dict[str, Any]:
    """Run the maintenance tasks named in ``event["tasks"]`` (the nightly set when absent).

    ``run_maintenance`` counts the job's success or failure itself; this handler counts a
    failure only when the run never got that far (bad event, no credentials, no database).
    An invocation where any task failed raises :class:`MaintenanceError` after the other
    tasks ran, so the Lambda's own error metric and retries see it too.
    """
    settings = load_settings()
    configure_metrics(settings)
    try:
        tasks = _tasks(event or {})
        results = asyncio.run(run(settings, tasks))
    except Exception:
        metrics.count(Metric.JOB_FAILED, job=Job.MAINTENANCE.value)
        raise
    finally:
        metrics.flush()
    logger.info("maintenance done", extra={"tasks": results})
    failed = [result["task"] for result in results if not result.get("ok", True)]
    if failed:
        raise MaintenanceError(f"maintenance tasks failed: {', '.join(failed)}")
    return {"tasks": results}


async def run(settings: Settings, tasks: list[str] | None) -> list[dict[str, Any]]:
    """Connect to the primary as the secret's user and run the tasks."""
    provider = credentials_provider(settings)
    if provider is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    db = Database.connect(provider.refresh().url(settings.database_sslmode or "require"), settings)
    try:
        results = await run_maintenance(db, settings, tasks)
    finally:
        await db.dispose()
    return [_summary(result) for result in results]


def _tasks(event: dict[str, Any]) -> list[str] | None:
    tasks = event.get("tasks")
    if tasks is None:
        return None
    if not isinstance(tasks, list) or not all(isinstance(task, str) for task in tasks):
        raise InvalidInputError("tasks must be a list of task names", field="tasks")
    return tasks


def _summary(result: object) -> dict[str, Any]:
    if is_dataclass(result) and not isinstance(result, type):
        return {key: _plain(value) for key, value in asdict(result).items()}
    return {"name": str(getattr(result, "name", result))}


def _plain(value: object) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)
