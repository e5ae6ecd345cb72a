"""Pooled connections the server has closed are replaced at checkout, without a round trip.

A server that restarts, fails over or ends a backend (``pg_terminate_backend``, an idle
timeout) sends its last message and closes the socket, so a dead pooled connection has
something to read or has reached end of file. :func:`install_liveness_check` looks at the
socket of every connection the pool hands out (a poll with no wait, then libpq reads what
arrived): a connection that turns out closed, or whose server has sent its FATAL goodbye
ahead of the close, is discarded and the checkout gets a new one.
The others stay pooled; each is checked as it is handed out, at no cost. The statement that follows
then runs on a live connection, so a write is not lost to a stale connection (writes are
never retried).

SQLAlchemy's ``pool_pre_ping`` does the same with ``SELECT 1``. On psycopg, outside
autocommit, that ping opens a transaction: BEGIN, SELECT 1, and a COMMIT when the session
ends, three round trips on every checkout, which also keep a pipelined search (settings and
search in one implicit transaction) from going out in one round trip.

What neither catches is a connection whose peer vanished without closing it (the host lost,
a network partition): nothing arrives, the ping would wait as long as the statement does.
Reads are retried (:mod:`datalayer.db.retry`) and a disconnect found by a statement
invalidates the pool, as before.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_READS = 4
"""Reads at one checkout; a connection that keeps receiving (notifications) is alive."""
_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL


def closed_by_server(connection: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server has closed ``connection`` (an idle one: nothing is pending).

    Never waits: what has arrived is read, nothing is sent.
    """
    pgconn = connection.pgconn
    if connection.closed or pgconn.status != ConnStatus.OK:
        return True
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    for _ in range(MAX_READS):
        events = poller.poll(0)
        if not events:
            return False
        if events[0][1] & _GONE and not events[0][1] & select.POLLIN:
            return True
        try:
            # Reads what arrived; at end of file libpq marks the connection bad.
            pgconn.consume_input()
        except psycopg.OperationalError:
            return True
        if pgconn.status != ConnStatus.OK or _announced_its_end(connection):
            return True
    return False


def _announced_its_end(connection: psycopg.AsyncConnection[Any]) -> bool:
    """Whether what was read holds the server's FATAL goodbye (``pg_terminate_backend``, a
    shutdown): it is sent before the socket closes, and the close can arrive later."""
    fatal: list[str] = []

    def _record(notice: psycopg.errors.Diagnostic) -> None:
        if notice.severity_nonlocalized in ("FATAL", "PANIC"):
            fatal.append(notice.sqlstate or "")

    connection.add_notice_handler(_record)
    try:
        # Parsing hands an error that arrives while idle to the notice handlers.
        connection.pgconn.is_busy()
    finally:
        connection.remove_notice_handler(_record)
    return bool(fatal)


def install_liveness_check(engine: AsyncEngine) -> None:
    """Check every connection ``engine``'s pool hands out (see the module docstring)."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if closed_by_server(dbapi_connection.driver_connection):
            # The pool discards this connection and checks out a new one in its place.
            raise exc.DisconnectionError("connection closed by the server")


__all__ = ["MAX_READS", "closed_by_server", "install_liveness_check"]
