"""``python -m datalayer gdpr ...`` and ``python -m datalayer audit verify``."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from datalayer.audit import ChainReport, verify_chain
from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.gdpr.erasure import erase_user, verify_erasure
from datalayer.gdpr.jobs import LocalExportStore, process_export_request
from datalayer.repositories.users import UserRepository
from datalayer.schemas.common import as_uuid
from datalayer.settings import Settings, get_settings

if TYPE_CHECKING:
    from datalayer.gdpr.report import ComplianceReport

gdpr_app = typer.Typer(help="GDPR: export, erase and verify one person's data.")
audit_app = typer.Typer(help="The append-only, hash-chained audit log.")
console = Console(soft_wrap=True)

UserArgument = Annotated[str, typer.Argument(help="The user's id (UUID).")]


def _database(settings: Settings, cache: TieredCache | None = None) -> Database:
    from datalayer.runtime import primary_url

    return Database.connect(primary_url(settings), settings, cache=cache)


def _key(settings: Settings) -> str:
    return settings.audit_hash_key.get_secret_value()


@gdpr_app.command("export")
def export(
    user: UserArgument,
    export_format: Annotated[str, typer.Option("--format", help="json or csv (zipped)")] = "json",
) -> None:
    """Export everything held about USER to a file (mode 0600) under DATALAYER_HOME/exports."""
    settings = get_settings()
    user_id = as_uuid(user, "user")

    async def run() -> None:
        db = _database(settings)
        try:
            request_id = await UserRepository(db, settings).request_data_export(
                user_id, export_format
            )
            store = LocalExportStore(settings.datalayer_home / "exports")
            with console.status("collecting every owned table ..."):
                status = await process_export_request(db, request_id, store, _key(settings))
        finally:
            await db.dispose()
        console.print(f"request {status.request_id}: {status.status}, expires {status.expires_at}")
        console.print(f"written to {status.location}")

    asyncio.run(run())


@gdpr_app.command("erase")
def erase(
    user: UserArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase USER everywhere (resumable), then verify that nothing is left."""
    settings = get_settings()
    user_id = as_uuid(user, "user")
    if not yes and not typer.confirm(f"Erase every row of {user_id}? This cannot be undone"):
        raise typer.Exit(code=1)

    async def run() -> None:
        # With Redis, the erasure's invalidations reach every running process and its purge
        # empties L2; an L1-only cache of this short-lived process would reach nobody.
        cache = TieredCache.from_settings(settings) if settings.redis_url is not None else None
        db = _database(settings, cache)
        if cache is not None:
            await cache.start()
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("erasing", total=None)

                def step(label: str) -> None:
                    progress.update(task, advance=1, description=f"erasing {label}")

                result = await erase_user(db, user_id, _key(settings), checkpoint=step)
        finally:
            if cache is not None:
                await cache.aclose()
            await db.dispose()
        erased = {table: rows for table, rows in result.rows_erased.items() if rows}
        console.print(f"erased {result.total_erased} rows: {json.dumps(erased)}")
        console.print("verified: no rows left" if result.verified else "NOT verified")
        if not result.verified:
            raise typer.Exit(code=1)

    asyncio.run(run())


@gdpr_app.command("verify")
def verify(user: UserArgument) -> None:
    """Count the rows still held about USER in every owned table (exit 1 when any)."""
    settings = get_settings()
    user_id: uuid.UUID = as_uuid(user, "user")

    async def run() -> dict[str, int]:
        db = _database(settings)
        try:
            return await verify_erasure(db, user_id)
        finally:
            await db.dispose()

    left = {table: rows for table, rows in asyncio.run(run()).items() if rows}
    if left:
        console.print(f"rows left: {json.dumps(left)}")
        raise typer.Exit(code=1)
    console.print("no rows left in any owned table")


@gdpr_app.command("report")
def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (UTC).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The monthly compliance report; its figures are also published as metrics.

    Exits 1 when the audit chain is broken."""
    from datalayer.gdpr.report import compliance_report, month_bounds, publish_report
    from datalayer.observability import configure_metrics, metrics

    settings = get_settings()
    month_bounds(month)  # a bad month is refused before connecting

    async def run() -> ComplianceReport:
        db = _database(settings)
        try:
            async with db.write_engine.connect() as connection:
                return await compliance_report(connection, month, _key(settings))
        finally:
            await db.dispose()

    result = asyncio.run(run())
    configure_metrics(settings)
    publish_report(result)
    metrics.flush()
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
    else:
        console.print(
            f"{month}: exports {result.exports_requested} requested, "
            f"{result.exports_completed} completed, {result.exports_failed} failed; "
            f"deletions {result.deletions_requested} requested, "
            f"{result.deletions_completed} completed"
        )
        for purpose, figures in result.consent.items():
            console.print(
                f"consent {purpose}: {figures.withdrew} of {figures.consenting} withdrew "
                f"({figures.rate:.1%})"
            )
        chain = "intact" if result.audit_chain_intact else "BROKEN"
        console.print(f"audit chain {chain} ({result.audit_rows_checked} rows checked)")
    if not result.audit_chain_intact:
        raise typer.Exit(code=1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's hash chain; report the first broken link (exit 1)."""
    settings = get_settings()

    async def run() -> ChainReport:
        db = _database(settings)
        try:
            async with db.write_engine.connect() as connection:
                return await verify_chain(connection, _key(settings))
        finally:
            await db.dispose()

    report = asyncio.run(run())
    checked = report.rows_checked
    if not report.intact:
        console.print(
            f"[red]broken[/] at audit_logs.id {report.first_broken_id}: {report.problem} "
            f"({checked} checked)"
        )
        raise typer.Exit(code=1)
    retained = (
        f"; {report.retention_starts} link(s) start after months dropped by retention"
        if report.retention_starts
        else ""
    )
    console.print(f"intact: {checked} rows, every link verified{retained}")
