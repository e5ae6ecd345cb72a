"""Validate an AWS Backup restore test, and report daily how old the last passed drill is.

Two events reach this function:

* ``Restore Job State Change`` (``COMPLETED``) of the restore testing plan: set a fresh
  password on the temporary instance, re-apply the live erasure ledger, run the datalayer's
  validation, publish ``RestoreDrillRto``/``RestoreDrillRpo`` and the job result, and report
  the verdict with ``PutRestoreValidationResult``. AWS Backup deletes the instance at the end
  of the validation window whatever happens here, so a failure cannot leave it behind.
* The daily schedule (``{"action": "report-age"}``): publish ``RestoreDrillAge``, the time
  since the last drill that passed, so an alarm can tell when drills stop passing or running.

Configuration comes from the settings layer only; the live database's credentials from the
secret in ``DATABASE_SECRET_ARN``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from datalayer.db.credentials import audit_hash_key, credentials_provider
from datalayer.errors import ConfigurationError
from datalayer.metric_names import Job, Metric
from datalayer.observability import configure_metrics, job_run, metrics
from datalayer.settings import Settings, load_settings
from lambdas.backup_validation.drill import DrillOutcome, RestoreJob, validate_restored_copy
from lambdas.backup_validation.restored import RestoredInstance, open_restored_instance

logger = Logger(service="backup-validation")

NEVER = "never"
"""Value of the status parameter until the first drill passes (set by the deployment)."""
REPORT_AGE = "report-age"
"""``action`` of the scheduled event that publishes the age of the last passed drill."""


@dataclass(frozen=True)
class AwsClients:
    """The AWS APIs the drill uses (injected in tests)."""

    backup: Any
    rds: Any
    ssm: Any

    @classmethod
    def default(cls) -> AwsClients:
        """Clients for the function's own region."""
        return cls(boto3.client("backup"), boto3.client("rds"), boto3.client("ssm"))


class DrillFailedError(Exception):
    """The restored copy failed a check (raised inside the job's metrics, caught outside)."""


OpenInstance = Callable[[Any, str], RestoredInstance]


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Entry point: a restore job event, or the daily age report."""
    settings = load_settings()
    configure_metrics(settings)
    clients = AwsClients.default()
    try:
        if event.get("action") == REPORT_AGE:
            return report_drill_age(settings, clients.ssm)
        return validate_restore_job(event, settings, clients)
    finally:
        metrics.flush()


def validate_restore_job(
    event: dict[str, Any],
    settings: Settings,
    clients: AwsClients,
    *,
    open_instance: OpenInstance = open_restored_instance,
) -> dict[str, Any]:
    """Validate the restore job of ``event`` and report the verdict to AWS Backup."""
    job_id = str(event["detail"]["restoreJobId"])
    description = clients.backup.describe_restore_job(RestoreJobId=job_id)
    if not (description.get("CreatedBy") or {}).get("RestoreTestingPlanArn"):
        # A restore someone started by hand: not a drill, not ours to judge.
        logger.info("not a restore test", extra={"restore_job_id": job_id})
        return {"restore_job_id": job_id, "skipped": "not a restore test"}
    if description["Status"] != "COMPLETED":
        logger.info("restore job not completed", extra={"status": description["Status"]})
        return {"restore_job_id": job_id, "skipped": description["Status"]}
    job = RestoreJob.from_description(description)
    _put_result(clients.backup, job_id, "VALIDATING", "restore drill validation started")
    sslmode = settings.database_sslmode or "require"
    try:
        with job_run(Job.BACKUP_VALIDATION):
            instance = open_instance(clients.rds, job.created_resource_arn)
            report, reapplied, validate_s = asyncio.run(
                validate_restored_copy(
                    instance.url(sslmode), _live_url(settings), settings, _audit_key(settings)
                )
            )
            outcome = DrillOutcome(job, report, validate_s, reapplied)
            metrics.gauge(Metric.RESTORE_DRILL_RTO, outcome.rto_s)
            metrics.gauge(Metric.RESTORE_DRILL_RPO, outcome.rpo_s)
            if not outcome.passed:
                raise DrillFailedError
    except DrillFailedError:
        pass
    except Exception as error:
        # Only the error's type: a driver message may name hosts or users.
        _put_result(clients.backup, job_id, "FAILED", f"validation error: {type(error).__name__}")
        raise
    _put_result(
        clients.backup,
        job_id,
        "SUCCESSFUL" if outcome.passed else "FAILED",
        outcome.status_message(),
    )
    if outcome.passed:
        clients.ssm.put_parameter(
            Name=_status_parameter(settings),
            Value=datetime.now(UTC).isoformat(),
            Type="String",
            Overwrite=True,
        )
    logger.info("restore drill", extra=outcome.as_dict())
    return outcome.as_dict()


def report_drill_age(
    settings: Settings, ssm: Any, *, now: datetime | None = None
) -> dict[str, Any]:
    """Publish the seconds since the last passed drill; nothing when none has passed yet."""
    try:
        value = ssm.get_parameter(Name=_status_parameter(settings))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        value = NEVER
    if value == NEVER:
        # Nothing to publish: the missing data is what the alarm reports.
        logger.warning("no restore drill has passed yet")
        return {"age_s": None}
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(value)).total_seconds()
    metrics.gauge(Metric.RESTORE_DRILL_AGE, age)
    return {"age_s": round(age, 3), "last_passed": value}


def _put_result(backup: Any, job_id: str, status: str, message: str) -> None:
    backup.put_restore_validation_result(
        RestoreJobId=job_id, ValidationStatus=status, ValidationStatusMessage=message
    )


def _live_url(settings: Settings) -> str:
    provider = credentials_provider(settings)
    if provider is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    return provider.refresh().url(settings.database_sslmode or "require")


def _audit_key(settings: Settings) -> str:
    return audit_hash_key(settings)


def _status_parameter(settings: Settings) -> str:
    if not settings.restore_drill_status_parameter:
        raise ConfigurationError("RESTORE_DRILL_STATUS_PARAMETER: not set")
    return settings.restore_drill_status_parameter
