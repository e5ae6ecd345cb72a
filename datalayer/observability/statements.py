"""The server's view of slow statements: ``pg_stat_statements``, when it is available.

The extension needs ``shared_preload_libraries = 'pg_stat_statements'`` (the embedded server
and the RDS parameter group both set it) and ``CREATE EXTENSION`` in the database, which
:func:`slowest_on_server` attempts once. Query texts are fingerprinted again before they are
returned: the server keeps utility statements (``ALTER ROLE ... PASSWORD '...'``) verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from datalayer.observability.fingerprint import fingerprint

_SLOWEST = """
SELECT query, calls, total_exec_time, mean_exec_time, max_exec_time
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY mean_exec_time DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class ServerStatement:
    """One ``pg_stat_statements`` entry (times in milliseconds)."""

    fingerprint_id: str
    sql: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float


@dataclass(frozen=True)
class ServerReport:
    """The slowest statements, or why the server could not say."""

    statements: list[ServerStatement]
    unavailable_reason: str | None = None


def libpq_url(url: str) -> str:
    """``url`` without a SQLAlchemy driver suffix (``postgresql+psycopg`` -> ``postgresql``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def slowest_on_server(url: str, limit: int = 10) -> ServerReport:
    """The ``limit`` statements with the highest mean time in the current database."""
    try:
        with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as connection:
            installed = connection.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ).fetchone()
            if installed is None:
                connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            rows = connection.execute(_SLOWEST, {"limit": limit}).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return ServerReport([], "no privilege to create or read pg_stat_statements")
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return ServerReport([], "pg_stat_statements is not in shared_preload_libraries")
    except psycopg.errors.UndefinedFile:
        return ServerReport([], "the pg_stat_statements extension is not installed")
    except psycopg.Error as exc:
        return ServerReport([], f"pg_stat_statements unreadable ({type(exc).__name__})")
    statements = []
    for query, calls, total, mean, maximum in rows:
        found = fingerprint(query)
        statements.append(
            ServerStatement(
                found.id, found.sql, int(calls), float(total), float(mean), float(maximum)
            )
        )
    return ServerReport(statements)
