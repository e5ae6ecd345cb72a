"""``python -m datalayer``: the embedded database, migrations, the schema and the demo."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import DataLayerError
from datalayer.gdpr.cli import audit_app, gdpr_app
from datalayer.health import HealthReport
from datalayer.migrations import runner
from datalayer.observability.cli import monitor_app
from datalayer.operations.cli import backup_app, maintenance_app
from datalayer.operations.vector_cli import vector_app
from datalayer.runtime import DataLayer, primary_url
from datalayer.schema_report import TableSummary, schema_summary
from datalayer.settings import get_settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _options(
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the traceback of unexpected errors.")
    ] = False,
) -> None:
    """Options for every command (read by :func:`main`)."""


db_app = typer.Typer(help="The embedded PostgreSQL used when DATABASE_URL is unset.")
migrate_app = typer.Typer(help="Schema migrations (Alembic) with validation and audit.")
app.add_typer(db_app, name="db")
app.add_typer(migrate_app, name="migrate")
app.add_typer(monitor_app, name="monitor")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(vector_app, name="vector")
console = Console(soft_wrap=True)


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _database_url() -> str:
    return primary_url(get_settings())


def _target_database() -> str:
    """The database URL a command acts on, announced on the console (password masked)."""
    url = _database_url()
    settings = get_settings()
    if settings.database_url is not None:
        source = "DATABASE_URL"
    elif settings.database_secret_arn is not None:
        source = "DATABASE_SECRET_ARN"
    else:
        source = "the embedded server in DATALAYER_HOME, because DATABASE_URL is unset"
    console.print(f"[bold]database[/] {_masked(url)} ({source})")
    return url


@db_app.command("start")
def db_start() -> None:
    """Start (or reuse) the embedded PostgreSQL and print its masked URL."""
    from datalayer.local.postgres import LOCAL_DATABASE, local_server

    server = local_server(get_settings())
    server.start()
    url = server.ensure_database(LOCAL_DATABASE)
    console.print(f"embedded PostgreSQL running at [bold]{_masked(url)}[/]")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    from datalayer.local.postgres import local_server

    stopped = local_server(get_settings()).stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded PostgreSQL runs, where, and with which data directory."""
    from datalayer.local.postgres import local_server

    status = local_server(get_settings()).status()
    state = "running" if status.running else "stopped"
    console.print(f"{state} (port {status.port}, pid {status.pid}, data {status.datadir})")
    if not status.running:
        raise typer.Exit(code=3)


@db_app.command("url")
def db_url(
    reveal: Annotated[bool, typer.Option(help="Print the password instead of ***.")] = False,
) -> None:
    """Print the database URL (DATABASE_URL, or the embedded server's)."""
    url = _database_url()
    print(url if reveal else _masked(url))


@migrate_app.command("up")
def migrate_up(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    applied = runner.upgrade(_target_database(), revision)
    console.print(f"applied: {', '.join(applied) if applied else 'nothing, already up to date'}")


@migrate_app.command("down")
def migrate_down(
    revision: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revert migrations down to REVISION (`base` reverts everything). Drops data."""
    url = _target_database()
    if not yes and not typer.confirm(
        f"Revert to {revision}? Tables dropped by the downgrade lose their data", default=False
    ):
        console.print("nothing reverted")
        raise typer.Exit(code=1)
    reverted = runner.downgrade(url, revision)
    console.print(f"reverted: {', '.join(reverted) if reverted else 'nothing'}")


@migrate_app.command("status")
def migrate_status() -> None:
    """Show the current revision, the head and the pending versions."""
    url = _target_database()
    status = runner.status(url)
    console.print(f"current: {', '.join(status.current) or 'base'}")
    console.print(f"head:    {status.head}")
    console.print(f"pending: {', '.join(status.pending) or 'none'}")
    for row in runner.history(url, limit=5):
        console.print(
            f"  {row['applied_at']:%Y-%m-%d %H:%M:%S} {row['direction']:<9} "
            f"{row['revision']} by {row['applied_by']} ({row['elapsed_ms']} ms)"
        )


@migrate_app.command("check")
def migrate_check() -> None:
    """Fail (exit 1) on pending versions or drift: tables, columns, types, nullability,
    server defaults, indexes, unique, foreign-key and CHECK constraints, and triggers."""
    problems = runner.check(_target_database())
    if problems:
        for problem in problems:
            console.print(f"[red]drift[/] {problem}")
        raise typer.Exit(code=1)
    console.print("no drift: the database matches the models")


@app.command("schema")
def schema() -> None:
    """Print a summary of the live schema."""
    _print_schema(_database_url())


@app.command("health")
def health(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe the primary, the replica and Redis; exit 1 when anything is unhealthy."""
    settings = get_settings()

    async def collect() -> HealthReport:
        database = Database.connect(_database_url(), settings)
        async with DataLayer(database, settings) as datalayer:
            return await datalayer.health()

    report = asyncio.run(collect())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        for component in report.components:
            colour = "green" if component.healthy else "red"
            figure = f"{component.latency_ms} ms" if component.latency_ms is not None else ""
            extra = component.error or ", ".join(f"{k}={v}" for k, v in component.details.items())
            console.print(
                f"[{colour}]{component.status:<9}[/] {component.name:<10} {figure} {extra}"
            )
        for name, stats in report.pools.items():
            console.print(f"pool {name}: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
        state = report.migrations
        console.print(f"migrations: current {state.get('current')}, head {state.get('head')}")
        console.print(f"[bold]{report.status}[/]")
    if not report.healthy:
        raise typer.Exit(code=1)


@app.command("demo")
def demo() -> None:
    """Migrate, load the sample corpus, embed it, and show search results."""
    from datalayer.local.demo import run_demo

    started = time.perf_counter()
    url = _database_url()
    console.print(f"[bold]database[/] {_masked(url)}")
    applied = runner.upgrade(url)
    console.print(f"[bold]migrations[/] applied: {', '.join(applied) or 'none (up to date)'}")
    problems = runner.check(url)
    console.print(f"[bold]drift check[/] {problems if problems else 'clean'}")
    if problems:
        raise typer.Exit(code=1)
    _print_schema(url)
    asyncio.run(run_demo(url, get_settings(), console))
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s")


def _print_schema(url: str) -> None:
    async def collect() -> list[TableSummary]:
        database = Database.connect(url, get_settings())
        try:
            return list(await schema_summary(database.write_engine))
        finally:
            await database.dispose()

    table = Table(title="schema")
    headers = ("table", "cols", "idx", "constraints", "trig", "parts", "rows")
    for column in headers:
        table.add_column(column, justify="left" if column == "table" else "right", no_wrap=True)
    for summary in asyncio.run(collect()):
        table.add_row(
            summary.name,
            *(
                str(getattr(summary, key))
                for key in ("columns", "indexes", "constraints", "triggers", "partitions", "rows")
            ),
        )
    console.print(table)


def main() -> None:
    """Console entry point: every error becomes one red line and exit code 1.

    Typed datalayer errors print their message (which never holds a secret); anything else
    prints only its type, because its text may hold one. ``--traceback`` shows the traceback.
    """
    try:
        app()
    except DataLayerError as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or type(exc).__name__}{where}")
    except Exception as exc:
        if "--traceback" in sys.argv:
            raise
        _fail(f"unexpected {type(exc).__name__}; rerun with --traceback for details")


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise SystemExit(1)
