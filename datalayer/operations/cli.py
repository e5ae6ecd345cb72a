"""``python -m datalayer backup ...`` and ``python -m datalayer maintenance run``."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.gdpr.ledger import ledger_subjects
from datalayer.metric_names import Job
from datalayer.observability.emitter import metrics
from datalayer.observability.jobs import job_run
from datalayer.observability.setup import configure_metrics
from datalayer.operations.backup import PHYSICAL, BackupManifest, create_backup
from datalayer.operations.drill import publish_drill, restore_drill
from datalayer.operations.maintenance import DEFAULT_TASKS, TASKS, TaskResult, run_maintenance
from datalayer.operations.physical import create_physical_backup
from datalayer.operations.restore import RestoreOptions, restore_backup
from datalayer.operations.restore_check import DrillResult
from datalayer.settings import Settings, get_settings


class BackupFormat(StrEnum):
    """What ``backup create`` writes."""

    DIRECTORY = "directory"
    PHYSICAL = PHYSICAL


backup_app = typer.Typer(help="Backups proven by restoring them: create, restore, validate.")
maintenance_app = typer.Typer(help="Routine maintenance (the scheduled Lambda runs the same).")
console = Console(soft_wrap=True)

DirectoryArgument = Annotated[Path, typer.Argument(help="The backup directory.")]
JobsOption = Annotated[
    int, typer.Option("--jobs", min=1, max=32, help="Parallel pg_dump/pg_restore jobs.")
]


def _live_url(settings: Settings) -> str:
    from datalayer.runtime import primary_url

    return primary_url(settings)


def progress_bar(console: Console) -> Progress:
    """A transient bar with ``completed/total`` and the elapsed time, on ``console``."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _spinner() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@backup_app.command("create")
def backup_create(
    directory: DirectoryArgument,
    jobs: JobsOption = 2,
    gzip: Annotated[
        int,
        typer.Option(
            "--gzip", min=0, max=9, help="gzip level (0: uncompressed, the fastest to restore)."
        ),
    ] = 0,
    backup_format: Annotated[
        BackupFormat,
        typer.Option(
            "--format",
            help="directory: pg_dump of the database (restores anywhere, in part too); "
            "physical: pg_basebackup of the whole cluster (indexes included, fast to restore "
            "into a new server of the same major version).",
        ),
    ] = BackupFormat.DIRECTORY,
) -> None:
    """Back up the database into DIRECTORY with a manifest: a pg_dump of one snapshot
    (directory format), or with --format physical a pg_basebackup of the whole cluster."""
    url = _live_url(get_settings())
    with _spinner() as progress:
        if backup_format is BackupFormat.PHYSICAL:
            progress.add_task(
                "pg_basebackup, then counting rows in a restored copy ...", total=None
            )
            manifest = create_physical_backup(url, directory, gzip_level=gzip)
        else:
            progress.add_task("pg_dump and manifest ...", total=None)
            manifest = create_backup(url, directory, jobs=jobs, gzip_level=gzip)
    console.print(
        f"backup in {directory}: {len(manifest.tables)} tables, {manifest.rows} rows, "
        f"schema {manifest.schema_version}, {manifest.seconds} s"
    )


@backup_app.command("restore")
def backup_restore(
    directory: DirectoryArgument,
    target: Annotated[str, typer.Option("--target", help="URL of an empty database.")],
    jobs: JobsOption = 2,
) -> None:
    """Restore the backup in DIRECTORY into the empty database at --target."""
    manifest = BackupManifest.load(directory)
    with _spinner() as progress:
        progress.add_task("pg_restore ...", total=None)
        seconds = restore_backup(directory, target, RestoreOptions(jobs=jobs))
    masked = make_url(target).render_as_string(hide_password=True)
    console.print(f"restored {manifest.rows} rows into {masked} in {seconds} s")
    console.print(
        "before the application uses it, re-apply the erasure ledger of the live database "
        "(`backup validate` shows the step)"
    )


@backup_app.command("validate")
def backup_validate(directory: DirectoryArgument, jobs: JobsOption = 2) -> None:
    """Restore DIRECTORY into a scratch database on the live server (a physical backup:
    into a scratch server of its own), re-apply the live erasure ledger, run every check,
    print RTO/RPO; exit 1 when a check fails."""
    settings = get_settings()
    configure_metrics(settings)
    url = _live_url(settings)

    async def run() -> DrillResult:
        live = Database.connect(url, settings)
        try:
            async with live.write_engine.connect() as connection:
                ledger = await ledger_subjects(connection)
        finally:
            await live.dispose()
        with _spinner() as progress:
            task = progress.add_task("starting", total=None)
            return await restore_drill(
                directory,
                url,
                settings,
                erased_subjects=ledger,
                options=RestoreOptions(jobs=jobs),
                progress=lambda step: progress.update(task, description=step),
            )

    try:
        with job_run(Job.BACKUP_VALIDATION):
            result = asyncio.run(run())
            publish_drill(result)
            _print_drill(result)
            if not result.report.passed:
                raise typer.Exit(code=1)
    finally:
        metrics.flush()


def _print_drill(result: DrillResult) -> None:
    table = Table(title=f"restore validation ({result.backup_format} backup)")
    for column in ("check", "result", "detail", "s"):
        table.add_column(column, justify="right" if column == "s" else "left")
    for check in result.report.checks:
        verdict = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        table.add_row(check.name, verdict, check.detail, f"{check.seconds:.2f}")
    console.print(table)
    overlap = f" - {result.overlap_s} s overlapped" if result.overlap_s else ""
    console.print(
        f"restore {result.restore_s} s + validation {result.validate_s} s{overlap} = "
        f"[bold]RTO {result.rto_s} s[/]; backup age (RPO) {result.rpo_s:.0f} s; "
        f"{result.rows_checked} rows checked; {result.reapplied_erasures} erasures re-applied"
    )
    console.print("[bold green]passed[/]" if result.report.passed else "[bold red]failed[/]")


@maintenance_app.command("run")
def maintenance_run(
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            help=f"Run only this task (repeatable): {', '.join(TASKS)}. Without it: all "
            f"but {', '.join(sorted(set(TASKS) - set(DEFAULT_TASKS)))}.",
        ),
    ] = None,
) -> None:
    """Run the maintenance tasks (the nightly set, or each --task) and report what each did."""
    settings = get_settings()
    configure_metrics(settings)

    async def run() -> list[TaskResult]:
        db = Database.connect(_live_url(settings), settings)
        try:
            with progress_bar(console) as progress:
                bar = progress.add_task("maintenance", total=len(task or DEFAULT_TASKS))

                def step(name: str, position: int, total: int) -> None:
                    progress.update(bar, completed=position - 1, total=total, description=name)

                return await run_maintenance(db, settings, task, progress=step)
        finally:
            await db.dispose()

    try:
        results = asyncio.run(run())
    finally:
        metrics.flush()
    table = Table(title="maintenance")
    for column in ("task", "result", "items", "what it did", "s"):
        table.add_column(column, justify="right" if column in ("items", "s") else "left")
    for result in results:
        verdict = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
        table.add_row(
            result.task, verdict, str(result.items), result.detail, f"{result.seconds:.2f}"
        )
    console.print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(code=1)
