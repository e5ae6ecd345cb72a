"""The monthly compliance report on real requests, consents and erasures with known answers."""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from datalayer.audit import GENESIS_HASH, chain_hash, subject_hash
from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.gdpr.consent import ConsentRepository
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.jobs import LocalExportStore, process_export_request
from datalayer.gdpr.report import ComplianceReport, compliance_report, publish_report
from datalayer.metric_names import Dimension, Metric
from datalayer.observability import Metrics, Point
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings
from tests.integration.gdpr.test_cli import cli


class FailingStore:
    def save(self, name: str, body: bytes) -> str:
        raise OSError("disk full")


class Recorded:
    def __init__(self) -> None:
        self.points: list[Point] = []

    def record(self, point: Point) -> None:
        self.points.append(point)

    def flush(self) -> None:
        pass


async def backdated_consent(
    db: Database, key: str, user: uuid.UUID, purpose: str, granted: bool, when: datetime
) -> None:
    """A consent event of an earlier month, chained like AuditTrail's rows."""
    async with db.transaction() as session:
        prev = (
            await session.execute(text("SELECT row_hash FROM audit_logs ORDER BY id DESC LIMIT 1"))
        ).scalar() or GENESIS_HASH
        row = {
            "occurred_at": when,
            "actor": "datalayer",
            "action": "gdpr.consent_granted" if granted else "gdpr.consent_withdrawn",
            "entity_type": "consent",
            "entity_id": None,
            "subject_hash": subject_hash(user, key),
            "details": {"purpose": purpose, "policy_version": "1"},
        }
        await session.execute(
            text(
                "INSERT INTO audit_logs (occurred_at, actor, action, entity_type, subject_hash, "
                "details, prev_hash, row_hash) VALUES (:occurred_at, :actor, :action, "
                ":entity_type, :subject_hash, CAST(:details AS jsonb), :prev, :hash)"
            ),
            {
                **row,
                "details": json.dumps(row["details"]),
                "prev": prev,
                "hash": chain_hash(key, prev, row),
            },
        )


def months(now: datetime) -> tuple[str, str, datetime]:
    """This month, the previous one, and a moment in the previous one."""
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    earlier = first - timedelta(days=10)
    return now.strftime("%Y-%m"), earlier.strftime("%Y-%m"), earlier


async def populate(db: Database, settings: Settings) -> tuple[str, str]:
    key = settings.audit_hash_key.get_secret_value()
    this_month, last_month, earlier = months(datetime.now(UTC))
    users = UserRepository(db, settings)
    consent = ConsentRepository(db, settings)
    ids = {}
    for name in "abcdefg":
        created = await users.create_user({"username": f"rep_{name}", "email": f"{name}@e.com"})
        ids[name] = created.id

    async def answer(name: str, purpose: str, granted: bool) -> None:
        await consent.create_consent(
            ids[name], {"purpose": purpose, "granted": granted, "policy_version": "2"}
        )

    async with db.transaction() as session:
        await session.execute(text("SET LOCAL ROLE recipe_maintenance"))
        await session.execute(
            text("SELECT ensure_audit_log_partitions(12, :since)"), {"since": earlier.date()}
        )
    # Last month: e consents to analytics; f consents and withdraws again.
    await backdated_consent(db, key, ids["e"], "analytics", True, earlier)
    await backdated_consent(db, key, ids["f"], "analytics", True, earlier)
    await backdated_consent(db, key, ids["f"], "analytics", False, earlier + timedelta(hours=1))
    # This month. marketing: a and b consent, a withdraws (1 of 2).
    # analytics: c and g consent, e (consenting since last month) withdraws (1 of 3).
    # personalization: d withdraws without ever consenting (0 of 0).
    await answer("a", "marketing", True)
    await answer("b", "marketing", True)
    await answer("a", "marketing", False)
    await answer("c", "analytics", True)
    await answer("g", "analytics", True)
    await answer("e", "analytics", False)
    await answer("d", "personalization", False)

    # Exports: two requested, one completed, one failed.
    done = await users.request_data_export(ids["a"], "json")
    broken = await users.request_data_export(ids["b"], "json")
    store = LocalExportStore(Path(tempfile.mkdtemp(prefix="report-exports-")))
    await process_export_request(db, done, store, key)
    with pytest.raises(OSError):
        await process_export_request(db, broken, FailingStore(), key)
    # Deletions: two requested, one erased (its consent rows go; its audit rows stay).
    await users.request_data_deletion(ids["c"])
    await users.request_data_deletion(ids["d"])
    await erase_user(db, ids["c"], key)
    return this_month, last_month


async def report_for(db: Database, settings: Settings, month: str) -> ComplianceReport:
    async with db.write_engine.connect() as connection:
        return await compliance_report(
            connection, month, settings.audit_hash_key.get_secret_value()
        )


async def test_report_counts_the_month_from_the_audit_log(
    db: Database, settings: Settings, database_url: str
) -> None:
    this_month, last_month = await populate(db, settings)

    report = (await report_for(db, settings, this_month)).as_dict()
    assert {name: report[name] for name in report if name.startswith(("exports", "deletions"))} == {
        "exports_requested": 2,
        "exports_completed": 1,
        "exports_failed": 1,
        "deletions_requested": 2,
        "deletions_completed": 1,
    }
    assert report["consent"] == {
        "personalization": {"consenting": 0, "withdrew": 0, "withdrawal_rate": 0.0},
        "analytics": {"consenting": 3, "withdrew": 1, "withdrawal_rate": 0.3333},
        "marketing": {"consenting": 2, "withdrew": 1, "withdrawal_rate": 0.5},
    }
    assert (report["audit_chain_intact"], report["audit_first_broken_id"]) == (True, None)
    async with db.write_engine.connect() as connection:
        rows = (await connection.execute(text("SELECT count(*) FROM audit_logs"))).scalar_one()
    assert report["audit_rows_checked"] == rows

    earlier = await report_for(db, settings, last_month)
    assert (earlier.exports_requested, earlier.deletions_requested) == (0, 0)
    assert earlier.consent["analytics"].consenting == 2
    assert earlier.consent["analytics"].withdrew == 1

    # The command prints the same figures as JSON.
    printed = cli(
        database_url, Path(tempfile.mkdtemp()), "gdpr", "report", "--month", this_month, "--json"
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert json.loads(printed.stdout) == report


async def test_report_figures_become_metrics(db: Database, settings: Settings) -> None:
    this_month, _ = await populate(db, settings)
    report = await report_for(db, settings, this_month)
    recorded = Recorded()
    publish_report(report, Metrics(recorded))
    values = {
        (point.metric, point.breakdown[1] if point.breakdown else None): point.value
        for point in recorded.points
    }
    assert values == {
        (Metric.GDPR_EXPORTS_REQUESTED, None): 2,
        (Metric.GDPR_EXPORTS_COMPLETED, None): 1,
        (Metric.GDPR_EXPORTS_FAILED, None): 1,
        (Metric.GDPR_DELETIONS_REQUESTED, None): 2,
        (Metric.GDPR_DELETIONS_COMPLETED, None): 1,
        (Metric.CONSENT_WITHDRAWAL_RATE, "personalization"): 0.0,
        (Metric.CONSENT_WITHDRAWAL_RATE, "analytics"): pytest.approx(100 / 3),
        (Metric.CONSENT_WITHDRAWAL_RATE, "marketing"): 50.0,
        (Metric.AUDIT_CHAIN_INTACT, None): 1,
    }
    rate_dimensions = {
        point.breakdown[0] for point in recorded.points if point.breakdown is not None
    }
    assert rate_dimensions == {Dimension.CONSENT_PURPOSE}


async def test_a_broken_chain_is_reported(db: Database, settings: Settings) -> None:
    this_month, _ = await populate(db, settings)
    async with db.transaction() as session:
        await session.execute(text("ALTER TABLE audit_logs DISABLE TRIGGER USER"))
        await session.execute(
            text("UPDATE audit_logs SET details = '{}' WHERE action = 'gdpr.export_failed'")
        )
        await session.execute(text("ALTER TABLE audit_logs ENABLE TRIGGER USER"))
    report = await report_for(db, settings, this_month)
    assert not report.audit_chain_intact
    assert report.audit_first_broken_id is not None


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-01", "", "2026-01-01"])
def test_a_bad_month_is_a_typed_error(month: str) -> None:
    from datalayer.gdpr.report import month_bounds

    with pytest.raises(InvalidInputError, match="YYYY-MM"):
        month_bounds(month)


def test_the_command_refuses_a_bad_month(database_url: str) -> None:
    refused = cli(database_url, Path(tempfile.mkdtemp()), "gdpr", "report", "--month", "2026-13")
    assert refused.returncode != 0
    assert "YYYY-MM" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr


def test_month_bounds_cross_the_year() -> None:
    from datalayer.gdpr.report import month_bounds

    assert month_bounds("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
