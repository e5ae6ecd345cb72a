"""One restore drill in AWS: re-apply the live erasure ledger to the restored copy, run the
datalayer's validation on it, and turn the restore job's times into RTO and RPO."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datalayer.db import Database
from datalayer.gdpr.ledger import ledger_subjects, reapply_ledger
from datalayer.operations.restore_check import ValidationReport, validate_database
from datalayer.settings import Settings

STATUS_MESSAGE_LIMIT = 1000
"""Characters of the validation message kept by ``PutRestoreValidationResult``."""


@dataclass(frozen=True)
class RestoreJob:
    """The figures of a completed AWS Backup restore job that the drill reports."""

    restore_job_id: str
    created_resource_arn: str
    restore_s: float
    """Restore job duration (creation to completion)."""
    recovery_point_age_s: float
    """Age of the recovery point when the restore started: the achieved RPO."""

    @classmethod
    def from_description(cls, job: dict[str, Any]) -> RestoreJob:
        """Read ``DescribeRestoreJob``'s answer."""
        created: datetime = job["CreationDate"]
        completed: datetime = job["CompletionDate"]
        point: datetime = job["RecoveryPointCreationDate"]
        return cls(
            restore_job_id=job["RestoreJobId"],
            created_resource_arn=job["CreatedResourceArn"],
            restore_s=round((completed - created).total_seconds(), 3),
            recovery_point_age_s=round((created - point).total_seconds(), 3),
        )


@dataclass(frozen=True)
class DrillOutcome:
    """What the drill found and how long recovery took."""

    job: RestoreJob
    report: ValidationReport
    validate_s: float
    reapplied_erasures: int

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return self.report.passed

    @property
    def rto_s(self) -> float:
        """Achieved recovery time: the restore job plus ledger and validation."""
        return round(self.job.restore_s + self.validate_s, 3)

    @property
    def rpo_s(self) -> float:
        """Achieved recovery point: how old the restored data was."""
        return self.job.recovery_point_age_s

    def status_message(self) -> str:
        """One line for AWS Backup: the verdict, the figures and the failed checks' names."""
        verdict = (
            "passed"
            if self.passed
            else "failed: " + ", ".join(check.name for check in self.report.failed)
        )
        figures = (
            f"{len(self.report.checks)} checks, rto {self.rto_s:.0f} s, rpo {self.rpo_s:.0f} s, "
            f"erasures re-applied {self.reapplied_erasures}"
        )
        return f"{figures}; {verdict}"[:STATUS_MESSAGE_LIMIT]

    def as_dict(self) -> dict[str, Any]:
        """The Lambda's answer (names and figures only)."""
        return {
            "restore_job_id": self.job.restore_job_id,
            "passed": self.passed,
            "failed_checks": [check.name for check in self.report.failed],
            "rto_s": self.rto_s,
            "rpo_s": self.rpo_s,
            "restore_s": self.job.restore_s,
            "validate_s": self.validate_s,
            "reapplied_erasures": self.reapplied_erasures,
        }


async def validate_restored_copy(
    restored_url: str, live_url: str, settings: Settings, audit_key: str
) -> tuple[ValidationReport, int, float]:
    """Re-apply the live ledger to the copy, then validate it: (report, erasures, seconds).

    The ledger comes from the live database: the copy's own ledger is older than the backup
    and would miss everyone erased since.
    """
    started = time.perf_counter()
    live = Database.connect(live_url, settings)
    try:
        async with live.write_engine.connect() as connection:
            subjects = await ledger_subjects(connection)
    finally:
        await live.dispose()
    restored = Database.connect(restored_url, settings)
    try:
        reapplied = await reapply_ledger(restored, subjects, audit_key)
        # One read-only pass in a transaction: the audit-chain check streams through a
        # server-side cursor, which PostgreSQL only allows inside a transaction block.
        async with restored.write_engine.connect() as connection:
            report = await validate_database(connection, audit_key, erased_subjects=subjects)
            await connection.rollback()
    finally:
        await restored.dispose()
    return report, len(reapplied), round(time.perf_counter() - started, 3)
