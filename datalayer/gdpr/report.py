"""The monthly compliance report (seed 003): exports, deletions, consent withdrawal, audit.

Every figure is counted from the audit log, which outlives erasure (request and consent rows
of an erased person are gone, their pseudonymous audit rows are not), over one calendar
month in UTC, ``[start, end)``:

- exports: ``gdpr.export_requested``, ``gdpr.export_completed``, ``gdpr.export_failed``;
- deletions: ``gdpr.deletion_requested`` and ``gdpr.erasure_completed`` (verified erasures);
- consent withdrawal rate per purpose: the people (subject hashes) who withdrew during the
  month, divided by the people who held consent for that purpose at some time in the month
  (granted at its start, or granted during it). A withdrawal by someone who never consented
  is not counted;
- audit integrity: the whole hash chain verified (:func:`datalayer.audit.verify_chain`).

:func:`publish_report` sets the figures as gauges through :mod:`datalayer.observability`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.audit import verify_chain
from datalayer.errors import InvalidInputError
from datalayer.metric_names import Metric
from datalayer.models.gdpr import CONSENT_PURPOSES
from datalayer.observability import Metrics, metrics

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_ACTIONS = {
    "exports_requested": "gdpr.export_requested",
    "exports_completed": "gdpr.export_completed",
    "exports_failed": "gdpr.export_failed",
    "deletions_requested": "gdpr.deletion_requested",
    "deletions_completed": "gdpr.erasure_completed",
}
_COUNTS = text(
    "SELECT action, count(*) FROM audit_logs "
    "WHERE occurred_at >= :start AND occurred_at < :end AND action = ANY(:actions) "
    "GROUP BY action"
)
# Per purpose: the last consent event of each person before the month, then the month's own.
_CONSENT = text(
    """
    WITH events AS (
        SELECT subject_hash, details->>'purpose' AS purpose, occurred_at, id,
               action = 'gdpr.consent_granted' AS granted
        FROM audit_logs
        WHERE action IN ('gdpr.consent_granted', 'gdpr.consent_withdrawn')
          AND subject_hash IS NOT NULL AND occurred_at < :end
    ),
    at_start AS (
        SELECT DISTINCT ON (subject_hash, purpose) subject_hash, purpose, granted
        FROM events WHERE occurred_at < :start
        ORDER BY subject_hash, purpose, occurred_at DESC, id DESC
    ),
    consenting AS (
        SELECT subject_hash, purpose FROM at_start WHERE granted
        UNION
        SELECT subject_hash, purpose FROM events WHERE occurred_at >= :start AND granted
    ),
    withdrew AS (
        SELECT DISTINCT subject_hash, purpose FROM events
        WHERE occurred_at >= :start AND NOT granted
    )
    SELECT c.purpose, count(*) AS consenting, count(w.subject_hash) AS withdrew
    FROM consenting c LEFT JOIN withdrew w USING (subject_hash, purpose)
    GROUP BY c.purpose
    """
)


@dataclass(frozen=True)
class ConsentWithdrawal:
    """One purpose's withdrawals in the month against the people who held its consent."""

    consenting: int
    withdrew: int

    @property
    def rate(self) -> float:
        """Withdrawals as a share of consenting people (0.0 when nobody consented)."""
        return self.withdrew / self.consenting if self.consenting else 0.0


@dataclass(frozen=True)
class ComplianceReport:
    """The figures of one month; :meth:`as_dict` is the JSON form."""

    month: str
    start: datetime
    end: datetime
    exports_requested: int
    exports_completed: int
    exports_failed: int
    deletions_requested: int
    deletions_completed: int
    consent: dict[str, ConsentWithdrawal]
    audit_chain_intact: bool
    audit_rows_checked: int
    audit_first_broken_id: int | None
    audit_retention_starts: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601, each purpose with its rate rounded to 4 places."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["consent"] = {
            purpose: {**asdict(figures), "withdrawal_rate": round(figures.rate, 4)}
            for purpose, figures in self.consent.items()
        }
        return data


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` as the UTC instants ``[start, end)``; InvalidInputError otherwise."""
    match = _MONTH.match(month) if isinstance(month, str) else None
    if match is None:
        raise InvalidInputError("month must be YYYY-MM", field="month")
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def compliance_report(
    connection: AsyncConnection, month: str, audit_key: str
) -> ComplianceReport:
    """Count the month's GDPR events and verify the audit chain (read-only)."""
    start, end = month_bounds(month)
    window = {"start": start, "end": end}
    counted = dict(
        (await connection.execute(_COUNTS, {**window, "actions": list(_ACTIONS.values())}))
        .tuples()
        .all()
    )
    consent = dict.fromkeys(CONSENT_PURPOSES, ConsentWithdrawal(0, 0))
    for purpose, consenting, withdrew in (
        (await connection.execute(_CONSENT, window)).tuples().all()
    ):
        if purpose in consent:
            consent[purpose] = ConsentWithdrawal(consenting, withdrew)
    chain = await verify_chain(connection, audit_key)
    return ComplianceReport(
        month=month,
        start=start,
        end=end,
        **{field: int(counted.get(action, 0)) for field, action in _ACTIONS.items()},
        consent=consent,
        audit_chain_intact=chain.intact,
        audit_rows_checked=chain.rows_checked,
        audit_first_broken_id=chain.first_broken_id,
        audit_retention_starts=chain.retention_starts,
    )


def publish_report(report: ComplianceReport, emitter: Metrics | None = None) -> None:
    """Set the report's figures as gauges (the withdrawal rate per purpose, in percent)."""
    target = emitter or metrics
    target.gauge(Metric.GDPR_EXPORTS_REQUESTED, report.exports_requested)
    target.gauge(Metric.GDPR_EXPORTS_COMPLETED, report.exports_completed)
    target.gauge(Metric.GDPR_EXPORTS_FAILED, report.exports_failed)
    target.gauge(Metric.GDPR_DELETIONS_REQUESTED, report.deletions_requested)
    target.gauge(Metric.GDPR_DELETIONS_COMPLETED, report.deletions_completed)
    for purpose, figures in report.consent.items():
        target.gauge(Metric.CONSENT_WITHDRAWAL_RATE, figures.rate * 100, consent_purpose=purpose)
    target.gauge(Metric.AUDIT_CHAIN_INTACT, 1 if report.audit_chain_intact else 0)
