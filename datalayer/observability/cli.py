"""``monitor`` commands: the slowest statements seen by the query monitor and by the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from datalayer.local.postgres import resolve_database_url
from datalayer.observability.queries import StatementStats
from datalayer.observability.statements import slowest_on_server
from datalayer.settings import get_settings

SNAPSHOT_FILE = "query-stats.json"
"""Where :meth:`QueryMonitor.save` snapshots go, under ``DATALAYER_HOME``."""

monitor_app = typer.Typer(help="Query performance: the slowest statements.", no_args_is_help=True)
console = Console(soft_wrap=True)


def snapshot_path() -> Path:
    """The monitor snapshot a process leaves for ``monitor report``."""
    return get_settings().datalayer_home / SNAPSHOT_FILE


@monitor_app.command("report")
def report(
    limit: Annotated[int, typer.Option(min=1, max=100, help="Statements per table.")] = 10,
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Monitor snapshot (default: DATALAYER_HOME/query-stats.json)."),
    ] = None,
) -> None:
    """Print the slowest statements from the monitor snapshot and from pg_stat_statements."""
    path = snapshot or snapshot_path()
    if path.exists():
        items = [StatementStats(**item) for item in json.loads(path.read_text())][:limit]
        table = Table(title=f"query monitor (slowest by p95, from {path})")
        for column in ("fingerprint", "calls", "p95 ms", "mean ms", "max ms", "slow", "statement"):
            table.add_column(column)
        for item in items:
            table.add_row(
                item.fingerprint_id, str(item.count), f"{item.p95_ms:.2f}", f"{item.mean_ms:.2f}",
                f"{item.max_ms:.2f}", str(item.slow_count), item.sql,
            )  # fmt: skip
        console.print(table)
    else:
        console.print(f"query monitor: no snapshot at {path} (a monitored process writes one)")
    server = slowest_on_server(resolve_database_url(get_settings()), limit)
    if server.unavailable_reason is not None:
        console.print(f"pg_stat_statements: unavailable ({server.unavailable_reason})")
        return
    table = Table(title="pg_stat_statements (slowest by mean time)")
    for column in ("fingerprint", "calls", "mean ms", "max ms", "total ms", "statement"):
        table.add_column(column)
    for statement in server.statements:
        table.add_row(
            statement.fingerprint_id, str(statement.calls), f"{statement.mean_ms:.2f}",
            f"{statement.max_ms:.2f}", f"{statement.total_ms:.2f}", statement.sql,
        )  # fmt: skip
    console.print(table)
