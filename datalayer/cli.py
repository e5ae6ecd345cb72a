"""``python -m datalayer``: the embedded database, migrations, the schema and the demo."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.demo import run_demo
from datalayer.errors import DataLayerError
from datalayer.local.postgres import LOCAL_DATABASE, local_server, resolve_database_url
from datalayer.migrations import runner
from datalayer.schema_report import TableSummary, schema_summary
from datalayer.settings import get_settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded PostgreSQL used when DATABASE_URL is unset.")
migrate_app = typer.Typer(help="Schema migrations (Alembic) with validation and audit.")
app.add_typer(db_app, name="db")
app.add_typer(migrate_app, name="migrate")
console = Console(soft_wrap=True)


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _database_url() -> str:
    return resolve_database_url(get_settings())


@db_app.command("start")
def db_start() -> None:
    """Start (or reuse) the embedded PostgreSQL and print its masked URL."""
    server = local_server(get_settings())
    server.start()
    url = server.ensure_database(LOCAL_DATABASE)
    console.print(f"embedded PostgreSQL running at [bold]{_masked(url)}[/]")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    stopped = local_server(get_settings()).stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded PostgreSQL runs, where, and with which data directory."""
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
    applied = runner.upgrade(_database_url(), revision)
    console.print(f"applied: {', '.join(applied) if applied else 'nothing, already up to date'}")


@migrate_app.command("down")
def migrate_down(revision: str) -> None:
    """Revert migrations down to REVISION (`base` reverts everything)."""
    reverted = runner.downgrade(_database_url(), revision)
    console.print(f"reverted: {', '.join(reverted) if reverted else 'nothing'}")


@migrate_app.command("status")
def migrate_status() -> None:
    """Show the current revision, the head and the pending versions."""
    status = runner.status(_database_url())
    console.print(f"current: {', '.join(status.current) or 'base'}")
    console.print(f"head:    {status.head}")
    console.print(f"pending: {', '.join(status.pending) or 'none'}")
    for row in runner.history(_database_url(), limit=5):
        console.print(
            f"  {row['applied_at']:%Y-%m-%d %H:%M:%S} {row['direction']:<9} "
            f"{row['revision']} by {row['applied_by']} ({row['elapsed_ms']} ms)"
        )


@migrate_app.command("check")
def migrate_check() -> None:
    """Fail (exit 1) on pending versions or drift: tables, columns, types, nullability,
    server defaults, indexes, unique, foreign-key and CHECK constraints, and triggers."""
    problems = runner.check(_database_url())
    if problems:
        for problem in problems:
            console.print(f"[red]drift[/] {problem}")
        raise typer.Exit(code=1)
    console.print("no drift: the database matches the models")


@app.command("schema")
def schema() -> None:
    """Print a summary of the live schema."""
    _print_schema(_database_url())


@app.command("demo")
def demo() -> None:
    """Migrate, load the sample corpus, embed it, and show search results."""
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
    """Console entry point: typed datalayer errors become one red line and exit code 1."""
    try:
        app()
    except DataLayerError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(1) from None
